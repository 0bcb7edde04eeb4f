import { RESOURCES, groupVersion, type ResourceInfo } from './resources.ts';

/**
 * The discovery documents (`/version`, `/api`, `/apis`, `/api/v1`,
 * `/apis/apps/v1`) built from the resource table, in the JSON shape the real
 * server returns. The aggregated discovery format (apidiscovery.k8s.io/v2) is
 * not served: a client asking for it gets the plain documents, as from an
 * older server.
 */

/** The version the double claims to be; `gitVersion` says it is not a cluster. */
export const FAKE_VERSION = {
  major: '1',
  minor: '31',
  gitVersion: 'v1.31.0-fake-kube',
  gitCommit: '0000000000000000000000000000000000000000',
  gitTreeState: 'clean',
  buildDate: '2024-08-13T00:00:00Z',
  goVersion: 'go1.22.5',
  compiler: 'gc',
  platform: 'linux/amd64',
} as const;

export function versionDocument(): object {
  return { ...FAKE_VERSION };
}

export function coreVersions(serverAddress: string): object {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

export function groupList(): object {
  const groups = new Map<string, ResourceInfo[]>();
  for (const r of RESOURCES) {
    if (r.group === '') continue;
    groups.set(r.group, [...(groups.get(r.group) ?? []), r]);
  }
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: [...groups.entries()].map(([name, rs]) => {
      const versions = [...new Set(rs.map((r) => r.version))].map((version) => ({ groupVersion: `${name}/${version}`, version }));
      return { name, versions, preferredVersion: versions[0] };
    }),
  };
}

/** The APIResourceList of one group version, or undefined when the double serves no such version. */
export function resourceList(group: string, version: string): object | undefined {
  const rows = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (rows.length === 0) return undefined;
  const resources: object[] = [];
  for (const r of rows) {
    resources.push({
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: r.verbs,
      ...(r.shortNames.length > 0 ? { shortNames: r.shortNames } : {}),
    });
    for (const sub of r.subresources) {
      resources.push(
        sub === 'portforward'
          ? { name: `${r.plural}/portforward`, singularName: '', namespaced: true, kind: 'PodPortForwardOptions', verbs: ['create', 'get'] }
          : { name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced, kind: r.kind, verbs: ['get', 'patch', 'update'] },
      );
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion({ group, version }), resources };
}
