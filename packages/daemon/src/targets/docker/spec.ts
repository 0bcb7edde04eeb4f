import { createHash } from 'node:crypto';
import type { PortMapping } from '../../config/project.ts';
import type { BundleManifest } from '@skiff/agent/bundle-manifest';
import type { Instance } from '../instance.ts';
import { appContainerShape } from '../pod-shape.ts';

/**
 * The Docker objects of one project, as pure data for the Engine API
 * (POST /containers/create): names, labels, mounts, ports. See pod-shape.ts
 * for the shape, shared with the Kubernetes target.
 */

/** Label holding a digest of the container's create options: a container made from other options is replaced. */
export const LABEL_SPEC = 'io.skiff.spec';
/** Label saying what an object is for: "app", "copy-agent", "source", "agent". */
export const LABEL_ROLE = 'io.skiff.role';
/** Published ports are bound to this address only: the agent never, the app by default, beyond this machine. */
export const PUBLISH_ADDRESS = '127.0.0.1';

export interface DockerNames {
  container: string;
  sourceVolume: string;
  agentVolume: string;
  agentImage: string;
}

export function dockerNames(instance: Instance, bundle: BundleManifest): DockerNames {
  return {
    container: instance.name,
    sourceVolume: `${instance.name}-src`,
    agentVolume: `${instance.name}-agent-${bundle.version}`,
    agentImage: `skiff-agent:${bundle.version}`,
  };
}

export interface AppContainerInput {
  instance: Instance;
  names: DockerNames;
  bundle: BundleManifest;
  image: string;
  workdir: string;
  ports: PortMapping[];
}

/** Options for POST /containers/create (dockerode's ContainerCreateOptions shape). */
export function appContainerSpec(input: AppContainerInput): Record<string, unknown> {
  const { instance, names, bundle, image, workdir, ports } = input;
  const shape = appContainerShape(bundle, { workdir, appPorts: ports.map((p) => p.container), agentHost: '0.0.0.0' });
  const exposed: Record<string, object> = { [`${shape.agentPort}/tcp`]: {} };
  const bindings: Record<string, Array<{ HostIp: string; HostPort: string }>> = {
    // An ephemeral host port, on loopback only: the daemon finds it by inspecting the container.
    [`${shape.agentPort}/tcp`]: [{ HostIp: PUBLISH_ADDRESS, HostPort: '' }],
  };
  for (const p of ports) {
    exposed[`${p.container}/tcp`] = {};
    bindings[`${p.container}/tcp`] = [{ HostIp: PUBLISH_ADDRESS, HostPort: String(p.host ?? p.container) }];
  }
  const spec: Record<string, unknown> = {
    name: names.container,
    Image: image,
    Entrypoint: shape.command,
    Cmd: [],
    WorkingDir: shape.workdir,
    // HOST so an app that reads it listens where the published port reaches it. The app spec is not
    // here: it travels over the wire at every connect, so editing skiff.yaml never recreates the container.
    Env: Object.entries(shape.env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...instance.labels, [LABEL_ROLE]: 'app' },
    ExposedPorts: exposed,
    StopSignal: 'SIGTERM',
    HostConfig: {
      PortBindings: bindings,
      Mounts: [
        { Type: 'volume', Source: names.agentVolume, Target: shape.agentMount, ReadOnly: true },
        // A fresh volume is seeded by the engine with what the image holds at workdir (copy-files-to-volume).
        { Type: 'volume', Source: names.sourceVolume, Target: shape.sourceMount },
      ],
      // PID 1 is the agent; the engine's own init would take that place.
      Init: false,
    },
  };
  const digest = createHash('sha256').update(JSON.stringify(spec)).digest('hex').slice(0, 16);
  (spec.Labels as Record<string, string>)[LABEL_SPEC] = digest;
  return spec;
}
