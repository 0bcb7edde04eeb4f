/**
 * The closed vocabularies of the Kubernetes API that the fake API server
 * speaks, spelled exactly as the real API spells them (clients compare these
 * strings).
 */

/** `type` of a watch event line. */
export const WatchEventType = {
  ADDED: 'ADDED',
  MODIFIED: 'MODIFIED',
  DELETED: 'DELETED',
  BOOKMARK: 'BOOKMARK',
  ERROR: 'ERROR',
} as const;
export type WatchEventType = (typeof WatchEventType)[keyof typeof WatchEventType];

/** `reason` of a failure Status (metav1.StatusReason). */
export const StatusReason = {
  BadRequest: 'BadRequest',
  Unauthorized: 'Unauthorized',
  Forbidden: 'Forbidden',
  NotFound: 'NotFound',
  AlreadyExists: 'AlreadyExists',
  Conflict: 'Conflict',
  Gone: 'Gone',
  Expired: 'Expired',
  Invalid: 'Invalid',
  MethodNotAllowed: 'MethodNotAllowed',
  UnsupportedMediaType: 'UnsupportedMediaType',
  InternalError: 'InternalError',
  ServiceUnavailable: 'ServiceUnavailable',
  TooManyRequests: 'TooManyRequests',
} as const;
export type StatusReason = (typeof StatusReason)[keyof typeof StatusReason];

/** `status.phase` of a pod. */
export const PodPhase = {
  Pending: 'Pending',
  Running: 'Running',
  Succeeded: 'Succeeded',
  Failed: 'Failed',
} as const;
export type PodPhase = (typeof PodPhase)[keyof typeof PodPhase];

/** `state.waiting.reason` / `state.terminated.reason` of a container, as the kubelet reports them. */
export const ContainerReason = {
  PodInitializing: 'PodInitializing',
  ContainerCreating: 'ContainerCreating',
  ErrImagePull: 'ErrImagePull',
  ImagePullBackOff: 'ImagePullBackOff',
  CrashLoopBackOff: 'CrashLoopBackOff',
  CreateContainerConfigError: 'CreateContainerConfigError',
  Completed: 'Completed',
  Error: 'Error',
} as const;
export type ContainerReason = (typeof ContainerReason)[keyof typeof ContainerReason];

/** `type` of a core/v1 Event. */
export const EventType = {
  Normal: 'Normal',
  Warning: 'Warning',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

/** `reason` of the core/v1 Events the double records, as the real components name them. */
export const EventReason = {
  Scheduled: 'Scheduled',
  FailedScheduling: 'FailedScheduling',
  Pulling: 'Pulling',
  Pulled: 'Pulled',
  Failed: 'Failed',
  BackOff: 'BackOff',
  Created: 'Created',
  Started: 'Started',
  Killing: 'Killing',
  FailedMount: 'FailedMount',
  ScalingReplicaSet: 'ScalingReplicaSet',
  ProvisioningSucceeded: 'ProvisioningSucceeded',
  ExternalProvisioning: 'ExternalProvisioning',
} as const;
export type EventReason = (typeof EventReason)[keyof typeof EventReason];

/** `spec.strategy.type` of a Deployment. */
export const DeploymentStrategy = {
  RollingUpdate: 'RollingUpdate',
  Recreate: 'Recreate',
} as const;

/** `status.phase` of a PersistentVolumeClaim. */
export const PvcPhase = {
  Pending: 'Pending',
  Bound: 'Bound',
} as const;

/** The labels and names the double sets the way the real controllers do. */
export const POD_TEMPLATE_HASH_LABEL = 'pod-template-hash';
export const PVC_PROTECTION_FINALIZER = 'kubernetes.io/pvc-protection';
/** The one node of the fake cluster. */
export const NODE_NAME = 'fake-kube-node';
