import type { BundleManifest } from '@skiff/agent/bundle-manifest';
import type { ProjectConfig } from '../../config/project.ts';
import { LABEL_INSTANCE, type Instance } from '../instance.ts';
import { appContainerShape, COPY_AGENT_TARGET, SEED_TARGET, seedCommand, TOKEN_DIR, TOKEN_FILE_MODE } from '../pod-shape.ts';

/**
 * The Kubernetes objects of one project, as plain manifests for server-side
 * apply (what `odo push` created, in today's API). Pure: the same inputs
 * give the same objects, so every run's apply is a no-op when nothing
 * changed. The pod follows pod-shape.ts, like the Docker target's container.
 */
export const FIELD_MANAGER = 'skiff';
/** Key of the agent token in the Secret. */
export const TOKEN_KEY = 'token';
/** The app container's name; the init containers are named after their step. */
export const APP_CONTAINER = 'app';
export const COPY_AGENT = 'copy-agent';
export const COPY_FILES = 'copy-files-to-volume';
/**
 * Group given to the pod's volumes (fsGroup): an image whose USER is not root
 * can then write the source volume and read the token, whoever owns them.
 * Changed only when the volume's root does not match, so a large tree is not
 * re-chowned at every start.
 */
export const VOLUME_GROUP = 2000;

const VOLUME_AGENT = 'skiff-agent';
const VOLUME_SOURCE = 'skiff-src';
const VOLUME_TOKEN = 'skiff-token';

export interface KubeNames {
  deployment: string;
  service: string;
  secret: string;
  claim: string;
}

export function kubeNames(instance: Instance): KubeNames {
  return { deployment: instance.name, service: instance.name, secret: `${instance.name}-agent`, claim: `${instance.name}-src` };
}

export interface KubeObjectsInput {
  instance: Instance;
  namespace: string;
  config: ProjectConfig;
  image: string;
  agentImage: string;
  manifest: BundleManifest;
}

type Manifest = Record<string, unknown> & { apiVersion: string; kind: string; metadata: { name: string; namespace: string; labels: Record<string, string> } };

function meta(name: string, input: KubeObjectsInput) {
  return { name, namespace: input.namespace, labels: { ...input.instance.labels } };
}

/** The Secret holding the agent's token (generated once, kept across runs: applied only when missing). */
export function tokenSecret(input: KubeObjectsInput, token: string): Manifest {
  return { apiVersion: 'v1', kind: 'Secret', metadata: meta(kubeNames(input.instance).secret, input), type: 'Opaque', stringData: { [TOKEN_KEY]: token } };
}

/** The claim of the source volume, so a replaced pod keeps its files; none when `ephemeral`. */
export function sourceClaim(input: KubeObjectsInput): Manifest | null {
  const k = input.config.kubernetes;
  if (k.ephemeral) return null;
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(kubeNames(input.instance).claim, input),
    spec: {
      accessModes: ['ReadWriteOnce'],
      resources: { requests: { storage: k.volumeSize } },
      ...(k.storageClass !== undefined ? { storageClassName: k.storageClass } : {}),
    },
  };
}

/** The app's ports as a Service (never the agent's: it is reached by port-forward only); none without ports. */
export function appService(input: KubeObjectsInput): Manifest | null {
  if (input.config.ports.length === 0) return null;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: meta(kubeNames(input.instance).service, input),
    spec: {
      selector: { [LABEL_INSTANCE]: input.instance.name },
      ports: input.config.ports.map((p) => ({ name: `http-${p.container}`, port: p.container, targetPort: p.container, protocol: 'TCP' })),
    },
  };
}

/**
 * One replica, Recreate (two agents must never write one claim). Init
 * containers: copy-agent (the agent image fills an emptyDir with the
 * bundle) and copy-files-to-volume (the bundle, in the app's image, seeds
 * the source volume from the image's workdir the first time). The app
 * container runs the agent as PID 1 from that emptyDir, read-only.
 */
export function appDeployment(input: KubeObjectsInput): Manifest {
  const names = kubeNames(input.instance);
  const { config, image, agentImage, manifest } = input;
  const shape = appContainerShape(manifest, { workdir: config.workdir, appPorts: config.ports.map((p) => p.container), agentHost: '127.0.0.1' });
  const agentRo = { name: VOLUME_AGENT, mountPath: shape.agentMount, readOnly: true };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: meta(names.deployment, input),
    spec: {
      replicas: 1,
      strategy: { type: 'Recreate' },
      selector: { matchLabels: { [LABEL_INSTANCE]: input.instance.name } },
      template: {
        metadata: { labels: { ...input.instance.labels } },
        spec: {
          securityContext: { fsGroup: VOLUME_GROUP, fsGroupChangePolicy: 'OnRootMismatch' },
          initContainers: [
            {
              name: COPY_AGENT,
              image: agentImage,
              imagePullPolicy: 'IfNotPresent',
              volumeMounts: [{ name: VOLUME_AGENT, mountPath: COPY_AGENT_TARGET }],
            },
            {
              name: COPY_FILES,
              image,
              imagePullPolicy: 'IfNotPresent',
              command: seedCommand(manifest, config.workdir),
              volumeMounts: [agentRo, { name: VOLUME_SOURCE, mountPath: SEED_TARGET }],
            },
          ],
          containers: [
            {
              name: APP_CONTAINER,
              image,
              imagePullPolicy: 'IfNotPresent',
              command: shape.command,
              workingDir: shape.workdir,
              env: Object.entries(shape.env).map(([name, value]) => ({ name, value })),
              ports: shape.appPorts.map((containerPort) => ({ containerPort, protocol: 'TCP' })),
              volumeMounts: [agentRo, { name: VOLUME_SOURCE, mountPath: shape.sourceMount }, { name: VOLUME_TOKEN, mountPath: TOKEN_DIR, readOnly: true }],
            },
          ],
          volumes: [
            { name: VOLUME_AGENT, emptyDir: {} },
            config.kubernetes.ephemeral ? { name: VOLUME_SOURCE, emptyDir: {} } : { name: VOLUME_SOURCE, persistentVolumeClaim: { claimName: names.claim } },
            { name: VOLUME_TOKEN, secret: { secretName: names.secret, defaultMode: TOKEN_FILE_MODE, items: [{ key: TOKEN_KEY, path: 'token' }] } },
          ],
        },
      },
    },
  };
}
