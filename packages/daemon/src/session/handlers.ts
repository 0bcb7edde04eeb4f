import { isAbsolute } from 'node:path';
import { ErrorCode, SkiffError } from '@skiff/protocol';
import type { ControlClient, ControlHandlers } from '../control/index.ts';
import { parseTarget, type Target } from '../config/target.ts';
import { SessionMethod, type AttachParams, type LogsParams, type StartParams } from '../control/session-api.ts';
import { deleteProjectTarget } from '../targets/delete-project.ts';
import type { SessionRegistry } from './registry.ts';
import { SessionState } from './session-state.ts';

/**
 * The control methods of sessions. Parameters come from a local client but
 * are still checked: a malformed request gets SKIFF_E_USAGE, never a crash.
 */
function ref(params: unknown): { root: string; target: Target | undefined } {
  const p = (params ?? {}) as Record<string, unknown>;
  if (typeof p.root !== 'string' || !isAbsolute(p.root)) {
    throw new SkiffError(ErrorCode.USAGE, '"root" must be an absolute path');
  }
  return { root: p.root, target: p.target === undefined ? undefined : parseTarget(p.target, '"target"') };
}

function optional<T>(params: unknown, name: string, type: 'boolean' | 'string' | 'number'): T | undefined {
  const value = (params as Record<string, unknown>)[name];
  if (value !== undefined && typeof value !== type) throw new SkiffError(ErrorCode.USAGE, `"${name}" must be a ${type}`);
  return value as T | undefined;
}

export function sessionHandlers(registry: SessionRegistry): ControlHandlers {
  return {
    async [SessionMethod.START](params: unknown) {
      const { root, target } = ref(params);
      const localRoot = optional<string>(params, 'localRoot', 'string');
      // Resolved against the daemon's directory, a relative root would land somewhere the user never meant.
      if (localRoot !== undefined && !isAbsolute(localRoot)) throw new SkiffError(ErrorCode.USAGE, '"localRoot" must be an absolute path');
      const session = await registry.open({
        root,
        target,
        poll: optional<boolean>(params, 'poll', 'boolean'),
        localRoot,
        kubeContext: optional<string>(params, 'kubeContext', 'string'),
        namespace: optional<string>(params, 'namespace', 'string'),
        force: optional<boolean>(params, 'force', 'boolean'),
      } satisfies StartParams);
      // --force on a session that halted (it would have deleted the agent's tree) lifts the halt.
      if (optional<boolean>(params, 'force', 'boolean') && session.status().state === SessionState.HALTED) {
        void session.syncNow(true).catch(() => undefined);
      }
      // `wait: false` returns at once, so a terminal can attach and watch the first sync.
      if (optional<boolean>(params, 'wait', 'boolean') !== false) await session.ready;
      return session.status();
    },

    [SessionMethod.ATTACH](params: unknown, client: ControlClient) {
      const { root, target } = ref(params);
      const session = registry.get(root, target);
      const p = params as AttachParams;
      const only = Array.isArray(p.events) ? new Set(p.events) : null;
      const unsubscribe = session.fanout.subscribe(
        (event, data) => {
          if (!only || only.has(event)) client.emit(event, data);
        },
        { replayLogs: optional<boolean>(params, 'logs', 'boolean') ?? false },
      );
      client.onClose(unsubscribe);
      return session.status();
    },

    async [SessionMethod.PUSH](params: unknown) {
      const { root, target } = ref(params);
      return registry.get(root, target).syncNow(optional<boolean>(params, 'force', 'boolean') ?? false);
    },

    [SessionMethod.STATUS](params: unknown) {
      const { root, target } = ref(params);
      return registry.get(root, target).status();
    },

    [SessionMethod.LIST]() {
      return registry.list().map((s) => s.status());
    },

    [SessionMethod.LOGS](params: unknown) {
      const { root, target } = ref(params);
      const limit = optional<number>(params, 'limit', 'number') ?? (params as LogsParams).limit;
      return registry.get(root, target).fanout.recentLogs(limit);
    },

    async [SessionMethod.DELETE](params: unknown) {
      const { root, target } = ref(params);
      const localRoot = optional<string>(params, 'localRoot', 'string');
      const stopped = await registry.stopIfAny(root, target);
      return deleteProjectTarget(root, stopped?.target ?? target, {
        localRoot: stopped?.agentRoot ?? localRoot,
        kubeContext: optional<string>(params, 'kubeContext', 'string'),
        namespace: optional<string>(params, 'namespace', 'string'),
      });
    },

    async [SessionMethod.STOP](params: unknown) {
      const { root, target } = ref(params);
      await registry.stop(root, target);
      return { stopped: true };
    },
  };
}

