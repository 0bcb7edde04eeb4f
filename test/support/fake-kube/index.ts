export { startFakeKube, type FakeKube, type FakeKubeOptions } from './fake-kube.ts';
export { skiffAgentLauncher, agentIndex, type SkiffAgentLauncherOptions } from './agent-launcher.ts';
export { PlanKind, type ContainerContext, type ContainerLauncher, type ContainerPlan, type ListenSpec, type MountedVolume } from './launcher.ts';
export { V4_PROTOCOL, type PortForwardSession } from './portforward.ts';
export { DEFAULT_BACKOFF, type Backoff } from './pod-worker.ts';
export { notFoundPullError } from './kubelet.ts';
export type { FaultRule, LoggedRequest } from './faults.ts';
export { StatusReason, PodPhase, ContainerReason, EventReason, WatchEventType, NODE_NAME, POD_TEMPLATE_HASH_LABEL } from './vocabulary.ts';
export { FAKE_VERSION } from './discovery.ts';
