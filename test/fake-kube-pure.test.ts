import { describe, expect, it } from 'vitest';
import { recordUpdate, serverSideApply } from './support/fake-kube/apply.ts';
import { fieldsOf, toFieldsV1, fromFieldsV1, describePath, decodePath } from './support/fake-kube/field-paths.ts';
import { parseFieldSelector, parseLabelSelector, labelSelectorObjectPredicate } from './support/fake-kube/selectors.ts';
import { KubeStatusError } from './support/fake-kube/status.ts';
import { parseRoute } from './support/fake-kube/routes.ts';
import type { KubeObject } from './support/fake-kube/shapes.ts';

/** The double's pure pieces, by table: selectors, routes, field sets, apply merges and ownership. */

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'front', 'app.kubernetes.io/instance': 'demo' };
  it.each([
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['missing!=x', true],
    ['app in (web,db)', true],
    ['app notin (web)', false],
    ['tier', true],
    ['!tier', false],
    ['!missing', true],
    ['app=web,tier=front,app.kubernetes.io/instance=demo', true],
    ['app=web,tier=back', false],
  ])('%s → %s', (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  it.each(['app=we b', '=web', 'app in web'])('refuses %s with a 400', (selector) => {
    const err = (() => {
      try {
        parseLabelSelector(selector);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(KubeStatusError);
    expect((err as KubeStatusError).status.code).toBe(400);
  });

  it.each([
    [{ matchLabels: { app: 'web' } }, true],
    [{ matchLabels: { app: 'db' } }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, true],
    [{ matchExpressions: [{ key: 'tier', operator: 'DoesNotExist' }] }, false],
    [{ matchExpressions: [{ key: 'tier', operator: 'Bogus' }] }, false],
  ])('LabelSelector %j → %s', (selector, expected) => {
    expect(labelSelectorObjectPredicate(selector)(labels)).toBe(expected);
  });
});

describe('field selectors', () => {
  const event = { apiVersion: 'v1', kind: 'Event', metadata: { name: 'e1', namespace: 'ns' }, involvedObject: { kind: 'Pod', name: 'web-1' }, reason: 'Failed', source: { component: 'kubelet' } } as KubeObject;
  const allowed = ['involvedObject.kind', 'involvedObject.name', 'reason', 'source'];
  it.each([
    ['involvedObject.name=web-1', true],
    ['involvedObject.name=web-2', false],
    ['involvedObject.kind=Pod,reason=Failed', true],
    ['reason!=Failed', false],
    ['source=kubelet', true],
    ['metadata.name=e1', true],
  ])('%s → %s', (selector, expected) => {
    expect(parseFieldSelector(selector, allowed, 'events')(event)).toBe(expected);
  });

  it('refuses a field the resource does not support', () => {
    expect(() => parseFieldSelector('spec.x=1', allowed, 'events')).toThrow('field label not supported: spec.x');
  });
});

describe('routes', () => {
  it.each([
    ['/version', { kind: 'version' }],
    ['/api', { kind: 'core-versions' }],
    ['/apis/apps/v1', { kind: 'resource-list', group: 'apps', version: 'v1' }],
    ['/api/v1/namespaces', { kind: 'object', plural: 'namespaces' }],
    ['/api/v1/namespaces/default', { kind: 'object', name: 'default', plural: 'namespaces' }],
    ['/api/v1/namespaces/default/status', { kind: 'object', name: 'default', plural: 'namespaces', subresource: 'status' }],
    ['/api/v1/namespaces/ns/pods/web/portforward', { kind: 'object', name: 'web', namespace: 'ns', plural: 'pods', subresource: 'portforward' }],
    ['/apis/apps/v1/namespaces/ns/deployments', { kind: 'object', namespace: 'ns', plural: 'deployments' }],
    ['/api/v1/pods', { kind: 'object', plural: 'pods' }],
    ['/api/v1/pods/web', { kind: 'not-found' }],
    ['/api/v1/namespaces/ns/configmaps', { kind: 'not-found' }],
    ['/apis/batch/v1/namespaces/ns/jobs', { kind: 'not-found' }],
  ])('%s', (path, expected) => {
    const route = parseRoute(path);
    const { plural, ...rest } = expected as { plural?: string; kind: string };
    expect(route).toMatchObject(rest);
    if (plural !== undefined && route.kind === 'object') expect(route.resource.plural).toBe(plural);
  });
});

describe('field sets', () => {
  it('spells keyed lists, sets and atomic values as FieldsV1 does', () => {
    const deployment = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd', namespace: 'ns', labels: { a: '1' }, finalizers: ['x'] },
      spec: {
        selector: { matchLabels: { a: '1' } },
        template: { spec: { containers: [{ name: 'app', image: 'i', args: ['--x'], ports: [{ containerPort: 80 }] }] } },
      },
    };
    const v1 = toFieldsV1(fieldsOf(deployment, 'Deployment'));
    expect(v1).toEqual({
      'f:metadata': { 'f:labels': { 'f:a': {} }, 'f:finalizers': { 'v:"x"': {} } },
      'f:spec': {
        'f:selector': {},
        'f:template': {
          'f:spec': {
            'f:containers': {
              'k:{"name":"app"}': {
                '.': {},
                'f:name': {},
                'f:image': {},
                'f:args': {},
                'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
              },
            },
          },
        },
      },
    });
    expect(fromFieldsV1(v1)).toEqual(fieldsOf(deployment, 'Deployment'));
  });

  it('describes paths the way conflicts name them', () => {
    const path = ['f:spec', 'f:template', 'f:spec', 'f:containers', 'k:{"name":"app"}', 'f:image'];
    expect(describePath(path)).toBe('.spec.template.spec.containers[name="app"].image');
    expect(decodePath(path.join('\u0000'))).toEqual(path);
  });
});

describe('server-side apply', () => {
  const now = '2024-01-01T00:00:00Z';
  const svc = (labels: Record<string, string>, ports: object[]): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 's', namespace: 'ns', labels },
    spec: { ports },
  });

  function applied(live: KubeObject | undefined, config: KubeObject, manager: string, force = false): KubeObject {
    const out = serverSideApply({ live, config, manager, force, now });
    if (!out.ok) throw new Error(`conflicts: ${JSON.stringify(out.conflicts)}`);
    return out.object;
  }

  it('merges keyed lists item by item and keeps what others own', () => {
    const first = applied(undefined, svc({ a: '1' }, [{ name: 'http', port: 80 }]), 'one');
    const second = applied(first, svc({ b: '2' }, [{ name: 'agent', port: 7070 }]), 'two');
    expect(second.metadata.labels).toEqual({ a: '1', b: '2' });
    expect((second.spec as { ports: { port: number }[] }).ports.map((p) => p.port)).toEqual([80, 7070]);
    // "one" stops applying port 80 and label a: both go, "two"'s stay.
    const third = applied(second, svc({}, []), 'one');
    expect(third.metadata.labels).toEqual({ b: '2' });
    expect((third.spec as { ports: { port: number }[] }).ports.map((p) => p.port)).toEqual([7070]);
  });

  it('keeps a field two managers applied with the same value when one stops applying it', () => {
    const first = applied(undefined, svc({ shared: 'v' }, []), 'one');
    const second = applied(first, svc({ shared: 'v' }, []), 'two');
    const third = applied(second, svc({}, []), 'one');
    expect(third.metadata.labels).toEqual({ shared: 'v' });
  });

  it('reports a conflict on a different value, and force moves ownership', () => {
    const first = applied(undefined, svc({ owner: 'one' }, []), 'one');
    const out = serverSideApply({ live: first, config: svc({ owner: 'two' }, []), manager: 'two', force: false, now });
    expect(out).toEqual({ ok: false, conflicts: [{ manager: 'one', apiVersion: 'v1', field: '.metadata.labels.owner' }] });
    const forced = applied(first, svc({ owner: 'two' }, []), 'two', true);
    expect(forced.metadata.labels).toEqual({ owner: 'two' });
    const owners = Object.fromEntries((forced.metadata.managedFields ?? []).map((m) => [m.manager, Object.keys((m.fieldsV1['f:metadata'] as Record<string, object> | undefined)?.['f:labels'] ?? {})]));
    expect(owners).toEqual({ two: ['f:owner'] });
  });

  it('gives an update the fields it changed, taking them from an applier', () => {
    const first = applied(undefined, svc({ a: '1', b: '2' }, []), 'applier');
    const edited = structuredClone(first);
    edited.metadata.labels = { a: 'changed', b: '2' };
    const managed = recordUpdate(first, edited, 'kubectl-edit', now);
    const byManager = Object.fromEntries(managed.map((m) => [m.manager, m]));
    expect(byManager['kubectl-edit'].operation).toBe('Update');
    expect(byManager['kubectl-edit'].fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { 'f:a': {} } } });
    expect(byManager.applier.fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { 'f:b': {} } } });
  });
});
