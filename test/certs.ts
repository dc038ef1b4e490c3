/**
 * Test certificates made with the `openssl` command: a local CA and
 * certificates it signs (chain + key bundles in HAProxy's PEM format).
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  /** Runs openssl in `dir`. */
  ssl(...args: string[]): string;
  /**
   * `<name>.key`, `<name>.crt` and `<name>.pem` (certificate then key) for
   * `cn`, with `sans` (default: the CN) as DNS names, signed by the CA.
   */
  issue(name: string, cn: string, serial: number, sans?: string[]): void;
}

/** Makes `ca.key` / `ca.crt` (subject /CN=<caName>) in `dir`. */
export function makeCa(dir: string, caName: string): TestCa {
  const ssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }).toString();
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '30', '-subj', `/CN=${caName}`);
  return {
    dir,
    ssl,
    issue(name, cn, serial, sans = [cn]) {
      ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
      writeFileSync(join(dir, `${name}.ext`), `subjectAltName=${sans.map(s => `DNS:${s}`).join(',')}\n`);
      ssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', String(serial), '-days', '30', '-extfile', `${name}.ext`, '-out', `${name}.crt`);
      writeFileSync(join(dir, `${name}.pem`), readFileSync(join(dir, `${name}.crt`), 'latin1') + readFileSync(join(dir, `${name}.key`), 'latin1'));
    },
  };
}
