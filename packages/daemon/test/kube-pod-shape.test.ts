import { posix } from 'node:path';
import { describe, expect, it } from 'vitest';
import { appContainerSpec, dockerNames } from '../src/targets/docker/spec.ts';
import { APP_CONTAINER, appDeployment, COPY_FILES } from '../src/targets/kubernetes/objects.ts';
import { AGENT_MOUNT, TOKEN_FILE, TOKEN_FILE_MODE } from '../src/targets/pod-shape.ts';
import { inputOf, KUBE_CASES } from './kube-fixtures.ts';

/**
 * The Docker and Kubernetes targets deploy one pod shape (pod-shape.ts), so
 * what the Docker tests prove about the agent in its container holds in the
 * cluster. For the same skiff.yaml and bundle, the app container of
 * appDeployment() and docker/spec.ts's appContainerSpec() must agree on:
 *
 *   the command      the agent as PID 1 through the bundle's loader, the same
 *                    arguments, except --host: 0.0.0.0 in Docker, where the
 *                    agent's port is published and a published port reaches
 *                    the container's address, not its loopback; 127.0.0.1
 *                    in Kubernetes, where a port-forward connects to the
 *                    pod's loopback and nothing else should reach the agent
 *   the environment  the same variables (HOST for the app)
 *   the mounts       the agent volume read-only at the same path, the source
 *                    volume at the workdir, the token file where --token-file
 *                    says, with the same mode
 */

type Json = Record<string, any>;

function both(c: (typeof KUBE_CASES)[number]) {
  const input = inputOf(c);
  const docker = appContainerSpec({
    instance: input.instance,
    names: dockerNames(input.instance, input.manifest),
    bundle: input.manifest,
    image: input.image,
    workdir: input.config.workdir,
    ports: input.config.ports,
  }) as Json;
  const pod = (appDeployment(input) as Json).spec.template.spec;
  const kube = pod.containers.find((x: Json) => x.name === APP_CONTAINER);
  return { input, docker, pod, kube };
}

function argAfter(command: string[], flag: string): string | undefined {
  const at = command.indexOf(flag);
  return at < 0 ? undefined : command[at + 1];
}

describe('the Kubernetes app container has the Docker target\'s shape', () => {
  it.each(KUBE_CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const { input, docker, pod, kube } = both(c);

    // Same image, same workdir.
    expect(kube.image).toBe(docker.Image);
    expect(kube.workingDir).toBe(docker.WorkingDir);
    expect(kube.workingDir).toBe(input.config.workdir);

    // Same command but for --host; the image's own CMD never runs after it.
    expect(docker.Cmd).toEqual([]);
    expect(kube.args).toBeUndefined();
    expect(argAfter(docker.Entrypoint, '--host')).toBe('0.0.0.0');
    expect(argAfter(kube.command, '--host')).toBe('127.0.0.1');
    const withoutHost = (cmd: string[]) => cmd.map((a, i) => (cmd[i - 1] === '--host' ? '<host>' : a));
    expect(withoutHost(kube.command)).toEqual(withoutHost(docker.Entrypoint));
    // Through the bundle's loader when it has one, from the agent volume.
    expect(kube.command[0]).toBe(posix.join(AGENT_MOUNT, input.manifest.loader ?? input.manifest.node));
    expect(argAfter(kube.command, '--root')).toBe(input.config.workdir);

    // Same environment.
    const kubeEnv = Object.fromEntries(kube.env.map((e: Json) => [e.name, e.value]));
    const dockerEnv = Object.fromEntries((docker.Env as string[]).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    expect(kubeEnv).toEqual(dockerEnv);
    expect(kubeEnv).toEqual({ HOST: '0.0.0.0' });

    // Same mount points: the agent volume read-only at the same path, the source at the workdir.
    const dockerMounts = (docker.HostConfig.Mounts as Json[]).map((m) => ({ path: m.Target, readOnly: m.ReadOnly === true }));
    const volumes = new Map<string, Json>(pod.volumes.map((v: Json) => [v.name, v]));
    const kubeMounts = (kube.volumeMounts as Json[]).filter((m) => !volumes.get(m.name)!.secret).map((m) => ({ path: m.mountPath, readOnly: m.readOnly === true }));
    expect(kubeMounts).toEqual(dockerMounts);
    expect(kubeMounts).toEqual([
      { path: AGENT_MOUNT, readOnly: true },
      { path: input.config.workdir, readOnly: false },
    ]);

    // The token file: where both commands say, put there by the Secret's volume here (by the archive API in Docker), same mode.
    expect(argAfter(docker.Entrypoint, '--token-file')).toBe(TOKEN_FILE);
    expect(argAfter(kube.command, '--token-file')).toBe(TOKEN_FILE);
    const tokenMount = (kube.volumeMounts as Json[]).find((m) => volumes.get(m.name)!.secret)!;
    const tokenVolume = volumes.get(tokenMount.name)!.secret;
    expect(tokenVolume.items.map((i: Json) => posix.join(tokenMount.mountPath, i.path))).toEqual([TOKEN_FILE]);
    expect(tokenVolume.defaultMode).toBe(TOKEN_FILE_MODE);

    // The app's ports in both; the agent's published in Docker (on loopback), only forwarded in Kubernetes.
    const appPorts = input.config.ports.map((p) => p.container);
    expect(Object.keys(docker.ExposedPorts).sort()).toEqual([...appPorts, Number(argAfter(kube.command, '--port'))].map((p) => `${p}/tcp`).sort());
    expect(kube.ports.map((p: Json) => p.containerPort)).toEqual(appPorts);

    // The seeding step runs the same bundle from the same read-only mount.
    const seed = pod.initContainers.find((x: Json) => x.name === COPY_FILES);
    expect(seed.command[0]).toBe(kube.command[0]);
    expect(seed.volumeMounts).toContainEqual(kube.volumeMounts.find((m: Json) => m.mountPath === AGENT_MOUNT));
  });
});
