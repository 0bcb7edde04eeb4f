import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { lastJsonOf } from './support/cli-json.ts';
import { generateProject, type GeneratedTree } from './support/gen-tree.ts';
import { KubeProject } from './support/kube-project.ts';
import { jsonOf } from './support/run-cli.ts';

/**
 * Where the target puts the project, through the real kubeconfig loading:
 * the namespace of --namespace, else skiff.yaml's kubernetes.namespace,
 * else the context's; the context of --context, else the current one. A
 * context the kubeconfig lacks is refused, naming the ones it has; a
 * namespace that does not exist is an error that names it.
 */

const OTHER_CONTEXT = 'team-c-admin';

describe('the kubernetes target\'s context and namespace', () => {
  let p: KubeProject;
  let tree: GeneratedTree;
  afterEach(async () => {
    await p?.cleanup();
  });

  it('--namespace, else skiff.yaml, else the context; --context picks the kubeconfig context', async () => {
    p = await KubeProject.start({ name: 'kube-where', yaml: 'kubernetes:\n  namespace: team-b\n' });
    tree = await generateProject(p.project, 100, 31);
    for (const name of ['team-a', 'team-b', 'team-c']) await p.core.createNamespace({ body: { metadata: { name } } });
    // A second context on the same cluster, its namespace team-c.
    const kubeconfig = structuredClone(p.kube.kubeconfig) as { contexts: Array<{ name: string; context: Record<string, string> }> };
    kubeconfig.contexts.push({ name: OTHER_CONTEXT, context: { ...kubeconfig.contexts[0].context, namespace: 'team-c' } });
    const path = join(p.work, 'kubeconfig');
    await writeFile(path, stringify(kubeconfig), { mode: 0o600 });
    p.env.KUBECONFIG = path;

    const push = async (...flags: string[]) => {
      const r = await p.skiff(['push', p.project, '--target', 'kubernetes', '--json', ...flags]);
      expect(r.code, `${r.stdout}\n${r.stderr}`).toBe(0);
      return lastJsonOf(r);
    };
    const placed = async (namespace: string) => {
      expect(await p.differences(tree.ignored, namespace)).toEqual([]);
      return (await p.instanceObjects(namespace)).filter((o) => !o.startsWith('Pod/')).sort();
    };
    const objects = [`Deployment/${p.names.deployment}`, `PersistentVolumeClaim/${p.names.claim}`, `Secret/${p.names.secret}`];

    expect(await push()).toMatchObject({ ok: true });
    expect(await placed('team-b')).toEqual(objects);
    expect(await push('--namespace', 'team-a')).toMatchObject({ ok: true });
    expect(await placed('team-a')).toEqual(objects);
    expect(await p.instanceObjects('default')).toEqual([]);

    // Without skiff.yaml's namespace, the context's.
    await p.writeConfig('');
    expect(await push('--context', OTHER_CONTEXT)).toMatchObject({ ok: true });
    expect(await placed('team-c')).toEqual(objects);
    expect(await push()).toMatchObject({ ok: true });
    expect(await placed('default')).toEqual(objects);

    // skiff delete in one namespace leaves the others.
    const deleted = await p.skiff(['delete', p.project, '--target', 'kubernetes', '--namespace', 'team-a', '--json']);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect(jsonOf<{ removed: string[] }>(deleted).removed.every((r) => r.includes(' team-a/'))).toBe(true);
    expect(await p.instanceObjects('team-a')).toEqual([]);
    expect((await p.instanceObjects('team-c')).length).toBeGreaterThan(0);
  });

  it('a context the kubeconfig lacks is SKIFF_E_CONFIG naming those it has; a missing namespace is named', async () => {
    p = await KubeProject.start({ name: 'kube-nowhere' });
    const noContext = await p.skiff(['push', p.project, '--target', 'kubernetes', '--context', 'prod', '--json']);
    expect(noContext.code).not.toBe(0);
    expect(lastJsonOf(noContext).error).toEqual({ code: 'SKIFF_E_CONFIG', message: 'the kubeconfig has no context "prod"; its contexts: fake-kube' });

    const noNamespace = await p.skiff(['push', p.project, '--target', 'kubernetes', '--namespace', 'nope', '--json']);
    expect(noNamespace.code).not.toBe(0);
    expect(lastJsonOf(noNamespace).error).toEqual({
      code: 'SKIFF_E_CONFIG',
      message: `the namespace "nope" does not exist on the cluster at ${p.kube.url}: create it (kubectl create namespace nope), or choose another with --namespace or skiff.yaml's kubernetes.namespace`,
    });
  });
});
