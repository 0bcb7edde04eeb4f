import { resolve } from 'node:path';
import { SessionMethod, parseTarget, type SessionResults, type Target } from '@skiff/daemon/control';
import type { Command } from '../command.ts';
import { connectIfRunning } from '../daemon-connection.ts';
import { EXIT } from '../exit.ts';
import { projectRoot } from '../project.ts';

export const deleteCommand: Command = {
  name: 'delete',
  summary: "remove everything the project's target made (container, volumes, agent root)",
  maxPositionals: 1,
  options: {
    target: { type: 'string', value: 'TARGET' },
    'local-root': { type: 'string', value: 'DIR' },
    context: { type: 'string', value: 'NAME' },
    namespace: { type: 'string', value: 'NAME' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  help: `Usage: skiff delete [DIR] [options]

Stops the project's session if one runs, then removes everything its target
made, and lists it: for local, the agent's private root; for docker, every
container and volume labelled with the project (the agent image stays, other
projects use it); for kubernetes, the Deployment, Service, Secret and
PersistentVolumeClaim labelled app.kubernetes.io/instance=<instance>. The project itself and its .skiff/index.json are not touched.

Options:
  --target TARGET     the target to clean up (default: the session's, else
                      skiff.yaml's, else local)
  --local-root DIR    the local target's agent root, when it was not the default
  --context NAME      kubernetes: the kubeconfig context
  --namespace NAME    kubernetes: the namespace
  --json              print {ok, target, removed}
  -h, --help          show this help
`,
  async run(values, positionals, ctx) {
    const root = projectRoot(positionals[0]);
    const target: Target | undefined = values.target === undefined ? undefined : parseTarget(values.target, '--target');
    const where = {
      localRoot: values['local-root'] === undefined ? undefined : resolve(String(values['local-root'])),
      kubeContext: values.context as string | undefined,
      namespace: values.namespace as string | undefined,
    };
    let result: SessionResults[typeof SessionMethod.DELETE];
    const conn = await connectIfRunning(ctx.env);
    if (conn) {
      try {
        result = await conn.request<SessionResults[typeof SessionMethod.DELETE]>(SessionMethod.DELETE, { root, target, ...where });
      } finally {
        await conn.close();
      }
    } else {
      // No daemon, so no session: the target's driver runs here, loaded only now.
      const { deleteProjectTarget } = await import('@skiff/daemon');
      result = await deleteProjectTarget(root, target, where);
    }
    if (values.json) ctx.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
    else if (result.removed.length === 0) ctx.stdout.write(`nothing to remove for ${root} (target ${result.target})\n`);
    else ctx.stdout.write(`removed (target ${result.target}):\n${result.removed.map((r) => `  ${r}\n`).join('')}`);
    return EXIT.OK;
  },
};
