import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_VOLUME_SIZE, DEFAULT_WORKDIR, loadProjectConfig, parsePort, parseProjectConfig, toAppConfig, type ProjectConfig } from '../src/config/project.ts';

const DEFAULTS: ProjectConfig = { name: 'myapp', target: 'local', workdir: DEFAULT_WORKDIR, ports: [], env: {}, kubernetes: { volumeSize: DEFAULT_VOLUME_SIZE, ephemeral: false } };

describe('parseProjectConfig', () => {
  it.each([
    ['an empty file', ''],
    ['comments only', '# nothing yet\n'],
    ['an explicit null document', '~\n'],
  ])('%s gives the defaults', (_name, text) => {
    expect(parseProjectConfig(text, 'myapp')).toEqual(DEFAULTS);
  });

  it('reads every field', () => {
    const text = `
name: shop
target: kubernetes
image: node:20
workdir: /opt/app
run: npm start
assemble: npm ci
assembleOn: [package.json, package-lock.json]
hotReload:
  - public/
  - "*.css"
ports: [8080, "9229", "18080:80"]
env:
  NODE_ENV: development
  PORT: 8080
  DEBUG: true
  VERSION: 1.10
  HEX: 0x1F
  EMPTY: ""
agentImage: registry.example.com/skiff-agent:1a2b
kubernetes:
  context: kind-dev
  namespace: team-a
  storageClass: fast
  volumeSize: 2Gi
  ephemeral: true
`;
    expect(parseProjectConfig(text, 'myapp')).toEqual({
      name: 'shop',
      target: 'kubernetes',
      image: 'node:20',
      workdir: '/opt/app',
      run: 'npm start',
      assemble: 'npm ci',
      assembleOn: ['package.json', 'package-lock.json'],
      hotReload: ['public/', '*.css'],
      ports: [{ container: 8080 }, { container: 9229 }, { container: 80, host: 18080 }],
      env: { NODE_ENV: 'development', PORT: '8080', DEBUG: 'true', VERSION: '1.10', HEX: '0x1F', EMPTY: '' },
      agentImage: 'registry.example.com/skiff-agent:1a2b',
      kubernetes: { context: 'kind-dev', namespace: 'team-a', storageClass: 'fast', volumeSize: '2Gi', ephemeral: true },
    });
  });

  it('null fields keep their defaults', () => {
    expect(parseProjectConfig('name:\ntarget:\nports:\nenv:\nrun:\n', 'myapp')).toEqual(DEFAULTS);
  });

  it.each([
    ['workdir: /', 'skiff.yaml: "workdir" cannot be "/": it would hide the whole image; use a directory of its own such as "/tmp/src" (line 1)'],
    ['workdir: /opt/skiff-agent/app', 'skiff.yaml: "workdir" cannot be "/opt/skiff-agent/app": it overlaps /opt/skiff-agent, which skiff mounts for its agent; use a directory of its own such as "/tmp/src" (line 1)'],
    ['kubernetes: {namespace: Team_A}', 'skiff.yaml: "kubernetes.namespace" must be a namespace name (lowercase letters, digits and "-"), got "Team_A" (line 1)'],
    ['kubernetes: {volumeSize: lots}', 'skiff.yaml: "kubernetes.volumeSize" must be a quantity such as "1Gi" or "500Mi", got "lots" (line 1)'],
    ['kubernetes: {ephemeral: yes please}', 'skiff.yaml: "kubernetes.ephemeral" must be true or false, got "yes please" (line 1)'],
    ['kubernetes: {namespce: x}', 'skiff.yaml: unknown field "kubernetes.namespce"; known fields: context, namespace, storageClass, volumeSize, ephemeral (line 1)'],
    ['ports: [8080, abc]', 'skiff.yaml: "ports[1]" must be a port number 1-65535 or "HOST:CONTAINER", got "abc" (line 1)'],
    ['ports:\n  - 80\n  - 0', 'skiff.yaml: "ports[1]" must be a port number 1-65535 or "HOST:CONTAINER", got 0 (line 3)'],
    ['ports: [65536]', 'skiff.yaml: "ports[0]" must be a port number 1-65535 or "HOST:CONTAINER", got 65536 (line 1)'],
    ['ports: [80.5]', 'skiff.yaml: "ports[0]" must be a port number 1-65535 or "HOST:CONTAINER", got 80.5 (line 1)'],
    ['ports: ["1:2:3"]', 'skiff.yaml: "ports[0]" must be a port number 1-65535 or "HOST:CONTAINER", got "1:2:3" (line 1)'],
    ['ports: ["70000:80"]', 'skiff.yaml: "ports[0]" must be a port number 1-65535 or "HOST:CONTAINER", got "70000:80" (line 1)'],
    ['ports: [{a: 1}]', 'skiff.yaml: "ports[0]" must be a port number 1-65535 or "HOST:CONTAINER", got a mapping (line 1)'],
    ['ports: [80, "8080:80"]', 'skiff.yaml: "ports[1]" repeats container port 80 of "ports[0]" (line 1)'],
    ['ports: 8080', 'skiff.yaml: "ports" must be a list of port numbers or "HOST:CONTAINER" strings, got 8080 (line 1)'],
    ['target: swarm', 'skiff.yaml: "target" must be one of "local", "docker", "kubernetes", got "swarm" (line 1)'],
    ['name: 12', 'skiff.yaml: "name" must be a non-empty string without "/" or line breaks, got 12 (line 1)'],
    ['name: a/b', 'skiff.yaml: "name" must be a non-empty string without "/" or line breaks, got "a/b" (line 1)'],
    ['image: [node]', 'skiff.yaml: "image" must be an image reference such as "node:20", got a list (line 1)'],
    ['workdir: src', 'skiff.yaml: "workdir" must be an absolute path in the container such as "/tmp/src", got "src" (line 1)'],
    ['run: 1', 'skiff.yaml: "run" must be a shell command line, got 1 (line 1)'],
    ['assemble: ""', 'skiff.yaml: "assemble" must be a shell command line, got "" (line 1)'],
    ['assembleOn: package.json', 'skiff.yaml: "assembleOn" must be a list of gitignore-style patterns (e.g. ["package.json", "src/**/*.css"]), got "package.json" (line 1)'],
    ['hotReload:\n  - ok\n  - 3', 'skiff.yaml: "hotReload[1]" must be a non-empty pattern string, got 3 (line 3)'],
    ['env: [A]', 'skiff.yaml: "env" must be a mapping of variable names to values (e.g. PORT: "8080"), got a list (line 1)'],
    ['env:\n  A: [1]', 'skiff.yaml: "env.A" must be a string, number or boolean, got a list (line 2)'],
    ['env:\n  A:', 'skiff.yaml: "env.A" must be a string, number or boolean, got nothing (line 2)'],
    ['env:\n  "A=B": x', 'skiff.yaml: "env" keys must be variable names without "=", got "A=B" (line 2)'],
    ['prots: [80]', 'skiff.yaml: unknown field "prots" (did you mean "ports"?); known fields: name, target, image, workdir, run, assemble, assembleOn, hotReload, ports, env, agentImage, kubernetes (line 1)'],
    ['x: 1\nbuild: make', 'skiff.yaml: unknown field "x"; known fields: name, target, image, workdir, run, assemble, assembleOn, hotReload, ports, env, agentImage, kubernetes (line 1)'],
    ['- a\n- b', 'skiff.yaml: must be a mapping of fields (name, target, image, workdir, run, assemble, assembleOn, hotReload, ports, env, agentImage, kubernetes), got a list'],
    ['just text', 'skiff.yaml: must be a mapping of fields (name, target, image, workdir, run, assemble, assembleOn, hotReload, ports, env, agentImage, kubernetes), got "just text"'],
  ])('%j → %s', (text, message) => {
    expect(() => parseProjectConfig(text, 'myapp')).toThrowError(expect.objectContaining({ code: 'SKIFF_E_CONFIG', message }));
  });

  it.each([
    ['ports: [80', /^skiff\.yaml: not valid YAML: /],
    ['run: a\nrun: b', /^skiff\.yaml: not valid YAML: Map keys must be unique/],
    ['env:\n\tA: 1', /^skiff\.yaml: not valid YAML: /],
  ])('invalid YAML %j', (text, message) => {
    expect(() => parseProjectConfig(text, 'myapp')).toThrowError(expect.objectContaining({ code: 'SKIFF_E_CONFIG', message: expect.stringMatching(message) }));
  });
});

describe('parsePort', () => {
  it.each([
    [1, { container: 1 }],
    [65535, { container: 65535 }],
    ['8080', { container: 8080 }],
    [' 8080 ', { container: 8080 }],
    ['18080:8080', { container: 8080, host: 18080 }],
    [0, null],
    [-1, null],
    ['', null],
    ['80:', null],
    [':80', null],
    ['127.0.0.1:80:80', null],
    [true, null],
    [null, null],
  ])('%j → %j', (item, expected) => {
    expect(parsePort(item)).toEqual(expected);
  });
});

describe('toAppConfig', () => {
  it('carries only the app fields that are set', () => {
    expect(toAppConfig(DEFAULTS)).toEqual({});
    const project = parseProjectConfig('run: node a.js\nassemble: npm ci\nassembleOn: [package.json]\nhotReload: ["*.css"]\nenv: {PORT: 8080}\nports: [80]\nimage: x', 'p');
    expect(toAppConfig(project)).toEqual({ run: 'node a.js', assemble: 'npm ci', assembleOn: ['package.json'], hotReload: ['*.css'], env: { PORT: '8080' } });
    // The JSON round trip is what SKIFF_APP carries.
    expect(JSON.parse(JSON.stringify(toAppConfig(project)))).toEqual(toAppConfig(project));
  });
});

describe('loadProjectConfig', () => {
  it('defaults, named after the directory, when there is no skiff.yaml; reads it when there is', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'skiff-project-'));
    try {
      const root = join(parent, 'hello-node');
      await mkdir(root);
      expect(await loadProjectConfig(root)).toEqual({ ...DEFAULTS, name: 'hello-node' });
      await writeFile(join(root, 'skiff.yaml'), 'run: node server.js\nports: [3000]\n');
      expect(await loadProjectConfig(root)).toEqual({ ...DEFAULTS, name: 'hello-node', run: 'node server.js', ports: [{ container: 3000 }] });
      await writeFile(join(root, 'skiff.yaml'), 'ports: [abc]\n');
      await expect(loadProjectConfig(root)).rejects.toMatchObject({ code: 'SKIFF_E_CONFIG', message: expect.stringContaining('"ports[0]"') });
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('a skiff.yaml that cannot be read is a config error with the cause kept', async () => {
    const root = await mkdtemp(join(tmpdir(), 'skiff-project-'));
    try {
      await mkdir(join(root, 'skiff.yaml'));
      const err = await loadProjectConfig(root).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'SKIFF_E_CONFIG', message: expect.stringMatching(/^skiff\.yaml: cannot read/) });
      expect((err as Error).cause).toBeDefined();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
