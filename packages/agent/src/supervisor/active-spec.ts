import { TOKEN_ENV, type AppSpec } from '@skiff/protocol';
import { APP_CONFIG_VAR } from './config.ts';
import { compilePatterns, type PathMatcher } from './patterns.ts';

/** An app spec with what the supervisor derives from it once: the app's environment and the compiled patterns. */
export interface ActiveSpec {
  readonly spec: AppSpec;
  readonly env: NodeJS.ProcessEnv;
  readonly assembleOn: PathMatcher | null;
  readonly hotReload: PathMatcher | null;
}

export function activateSpec(spec: AppSpec, baseEnv: NodeJS.ProcessEnv): ActiveSpec {
  return {
    spec,
    env: appEnvironment(baseEnv, spec.env),
    assembleOn: compilePatterns(spec.assembleOn),
    hotReload: compilePatterns(spec.hotReload),
  };
}

/**
 * The app's environment: the agent's, without what is the agent's alone (its
 * token, its own config), plus the configured variables.
 */
export function appEnvironment(base: NodeJS.ProcessEnv, extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...base, ...extra };
  delete env[TOKEN_ENV];
  delete env[APP_CONFIG_VAR];
  return env;
}
