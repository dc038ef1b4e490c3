'use strict';
// Builds unix_dgram.node. Run by the "install" script of @switchyard/core,
// which pnpm runs for workspace packages on every `pnpm install` (including
// --frozen-lockfile), and by `pnpm --filter @switchyard/core build:native`.
//
// Plain CommonJS, no dependencies: it runs before anything is compiled.
//
// Why a script and not a bare `node-gyp rebuild`:
//  - Headers. node-gyp downloads them from nodejs.org unless told a nodedir.
//    CI has no internet, so when npm_config_nodedir is not set we point
//    node-gyp at the headers installed with the running node
//    (<prefix>/include/node), if they are there.
//  - Platform. The addon is Linux-only (abstract sockets, systemd). Elsewhere
//    we skip the build instead of failing the whole install; the wrapper then
//    reports unixDgramAvailable() === false with the reason.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

function main() {
  if (process.platform !== 'linux') {
    console.log(`unix_dgram: skipped on ${process.platform} (Linux only)`);
    return 0;
  }

  const args = ['rebuild', '--directory', __dirname];
  const prefix = path.dirname(path.dirname(process.execPath));
  if (!process.env.npm_config_nodedir) {
    if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) {
      args.push(`--nodedir=${prefix}`);
    }
  }

  // Inside `pnpm install` / `pnpm run`, npm_config_node_gyp names pnpm's
  // bundled node-gyp (also on PATH). Run by hand, fall back to the node-gyp
  // bundled with npm, then to whatever `node-gyp` is on PATH.
  const gypJs = [
    process.env.npm_config_node_gyp,
    path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ].find((p) => p !== undefined && p.endsWith('.js') && fs.existsSync(p));
  const [cmd, cmdArgs] = gypJs !== undefined
    ? [process.execPath, [gypJs, ...args]]
    : ['node-gyp', args];

  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit' });
  if (r.error) {
    console.error(`unix_dgram: cannot run node-gyp: ${r.error.message}`);
    return 1;
  }
  if (r.status !== 0) {
    console.error('unix_dgram: node-gyp failed; needs python3, make and a C compiler');
  }
  return r.status ?? 1;
}

process.exitCode = main();
