import { writeFile } from 'node:fs/promises';
import { stringify } from 'yaml';

/**
 * The kubeconfig that points a client at the double: one cluster (the
 * server URL and the CA that signed its certificate), one user (the bearer
 * token the server checks), one context with the default namespace.
 */

export const CONTEXT_NAME = 'fake-kube';

export interface KubeconfigInput {
  server: string;
  caPem: string;
  token: string;
  namespace: string;
}

export function kubeconfigObject(input: KubeconfigInput): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Config',
    'current-context': CONTEXT_NAME,
    clusters: [{ name: CONTEXT_NAME, cluster: { server: input.server, 'certificate-authority-data': Buffer.from(input.caPem).toString('base64') } }],
    users: [{ name: CONTEXT_NAME, user: { token: input.token } }],
    contexts: [{ name: CONTEXT_NAME, context: { cluster: CONTEXT_NAME, user: CONTEXT_NAME, namespace: input.namespace } }],
    preferences: {},
  };
}

export async function writeKubeconfig(path: string, config: Record<string, unknown>): Promise<void> {
  // A kubeconfig holds a credential: readable by its owner only, as kubectl writes it.
  await writeFile(path, stringify(config), { mode: 0o600 });
}
