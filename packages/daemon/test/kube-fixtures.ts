import type { BundleManifest } from '@skiff/agent/bundle-manifest';
import { parseProjectConfig } from '../src/config/project.ts';
import { instanceOf } from '../src/targets/instance.ts';
import type { KubeObjectsInput } from '../src/targets/kubernetes/objects.ts';

/**
 * Inputs of the Kubernetes target's pure pieces for table tests: project
 * configurations as skiff.yaml spells them, and agent bundles as the build
 * describes them (one started through its own dynamic loader, one a static
 * node), so no test depends on the bundle this machine happened to build.
 */

export const LOADER_BUNDLE: BundleManifest = {
  format: 1,
  version: '0123456789abcdef',
  platform: 'linux-x64',
  nodeVersion: 'v20.20.2',
  loader: 'lib/ld-linux-x86-64.so.2',
  libDir: 'lib',
  node: 'node',
  entry: 'skiff-agent.js',
  files: [],
};

export const STATIC_BUNDLE: BundleManifest = { ...LOADER_BUNDLE, version: 'fedcba9876543210', loader: null };

export interface KubeCase {
  name: string;
  /** skiff.yaml's text. */
  yaml: string;
  bundle: BundleManifest;
  namespace: string;
}

/** Configurations that reach every branch of objects.ts: ports or none, ephemeral, storageClass, workdir, agentImage. */
export const KUBE_CASES: KubeCase[] = [
  { name: 'the defaults, no ports', yaml: 'image: node:20-bookworm-slim\n', bundle: LOADER_BUNDLE, namespace: 'default' },
  {
    name: 'ports, storageClass, volumeSize, another workdir, agentImage',
    yaml: [
      'name: shop',
      'image: registry.example.com/team/shop:1.2.3',
      'workdir: /opt/app',
      'ports: [8080, "9229", "18080:80"]',
      'agentImage: registry.example.com/skiff-agent:0123456789abcdef',
      'kubernetes:',
      '  storageClass: fast-ssd',
      '  volumeSize: 5Gi',
      '  namespace: dev',
    ].join('\n'),
    bundle: LOADER_BUNDLE,
    namespace: 'dev',
  },
  { name: 'ephemeral source, one port, a static node', yaml: 'name: api\nimage: node:20-alpine\nports: [3000]\nkubernetes:\n  ephemeral: true\n', bundle: STATIC_BUNDLE, namespace: 'team-a' },
  {
    name: 'a long unicode name with a workdir under /',
    yaml: `name: "Ünïcödé Project With A Very Long Name That Goes On And On ${'x'.repeat(40)}"\nimage: python:3.12\nworkdir: /src\nports: ["65535"]\n`,
    bundle: LOADER_BUNDLE,
    namespace: 'default',
  },
];

/** The objects' input for a case, as the target builds it (the default agent image is named after the bundle). */
export function inputOf(c: KubeCase, projectRoot = `/home/dev/${c.name.replace(/\W+/g, '-')}`): KubeObjectsInput {
  const config = parseProjectConfig(c.yaml, 'project-dir');
  return {
    instance: instanceOf(projectRoot, config.name),
    namespace: c.namespace,
    config,
    image: config.image!,
    agentImage: config.agentImage ?? `skiff-agent:${c.bundle.version}`,
    manifest: c.bundle,
  };
}
