import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

/**
 * The double's TLS: a throw-away CA and a server certificate for 127.0.0.1
 * it signs, made with the openssl command at start (node:crypto makes keys
 * but not certificates). The kubeconfig carries the CA, so clients verify
 * the server as they verify a real cluster's, with no
 * insecure-skip-tls-verify. client-node refuses plain http unless TLS
 * verification is off, which is why the double speaks https at all.
 */

export interface ServerTls {
  caPem: string;
  certPem: string;
  keyPem: string;
}

/** Days the certificates are valid: a test run is far shorter. */
const VALID_DAYS = 2;
const OPENSSL_TIMEOUT_MS = 20_000;

const run = promisify(execFile);

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run('openssl', args, { cwd, timeout: OPENSSL_TIMEOUT_MS });
  } catch (cause) {
    throw new Error(`fake-kube: cannot make its TLS certificates with openssl (${(cause as Error).message}); is the openssl command installed?`, { cause });
  }
}

export async function makeServerTls(dir: string): Promise<ServerTls> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await openssl(
    ['req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', String(VALID_DAYS), '-subj', '/CN=fake-kube-ca',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'],
    dir,
  );
  await openssl(
    ['req', '-x509', '-CA', 'ca.crt', '-CAkey', 'ca.key', ...ec, '-keyout', 'server.key', '-out', 'server.crt', '-days', String(VALID_DAYS),
      '-subj', '/CN=fake-kube-apiserver', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-addext', 'extendedKeyUsage=serverAuth',
      '-addext', 'basicConstraints=critical,CA:FALSE'],
    dir,
  );
  const [caPem, certPem, keyPem] = await Promise.all(['ca.crt', 'server.crt', 'server.key'].map((f) => readFile(join(dir, f), 'utf8')));
  return { caPem, certPem, keyPem };
}
