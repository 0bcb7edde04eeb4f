import { afterAll, beforeAll } from 'vitest';
import { AppsV1Api, CoreV1Api, KubernetesObjectApi, type KubeConfig } from '@kubernetes/client-node';
import { kubeConfigFor } from './fake-kube/client-helpers.ts';
import { startFakeKube, type FakeKube, type FakeKubeOptions } from './fake-kube/index.ts';

/**
 * @kubernetes/client-node's clients for a fake cluster, made from its
 * kubeconfig file as a user's tools read it.
 */
export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  objects: KubernetesObjectApi;
}

export function kubeClients(kube: FakeKube): KubeClients {
  const kc = kubeConfigFor(kube);
  return { kc, core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api), objects: KubernetesObjectApi.makeApiClient(kc) };
}

/** A fake cluster shared by a test file, and its clients; read them in hooks and tests, once beforeAll has run. */
export interface FakeKubeFixture extends KubeClients {
  kube: FakeKube;
}

/** Starts a fake cluster in a beforeAll of the calling block (or file) and stops it in its afterAll. */
export function useFakeKube(options?: FakeKubeOptions): Readonly<FakeKubeFixture> {
  const fixture = {} as FakeKubeFixture;
  let kube: FakeKube | undefined;
  beforeAll(async () => {
    kube = await startFakeKube(options);
    Object.assign(fixture, { kube, ...kubeClients(kube) });
  });
  afterAll(async () => {
    await kube?.stop();
  });
  return fixture;
}
