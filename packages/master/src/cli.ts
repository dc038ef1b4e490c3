/**
 * Command-line arguments, HAProxy-compatible where they overlap.
 */
export interface CliOptions {
  files: string[];
  check: boolean;
  checkCondition: string | null;
  debug: boolean;
  /** -dD: show `.diag` messages and diagnostic warnings. */
  diag: boolean;
  quiet: boolean;
  pidfile: string | null;
  localPeer: string | null;
  version: 0 | 1 | 2;
  help: boolean;
}

export const USAGE = `Usage : switchyard [-f <cfgfile|cfgdir>]* [ -vdVD ] [ -q ] [ -c ] [ -cc <condition> ]
        [ -p <pidfile> ] [ -L <localpeer> ] [ -W | -Ws ]
        -v displays version ; -vv shows known build options.
        -f <file|dir> adds a configuration file or a directory of *.cfg files (repeatable)
        -c check mode : only check config files and exit
        -cc check condition : evaluate a condition and exit (0 if true)
        -d enters debug mode (foreground, debug logging)
        -dD diagnostic mode : also print .diag messages
        -D goes daemon : accepted; Switchyard always stays in the foreground
        -W / -Ws master-worker mode : accepted; it is the only mode
        -p writes the master's pid into <pidfile>
        -q quiet mode : don't display messages
        -L set local peer name (default to hostname)
`;

export type ParseResult = { ok: true; opts: CliOptions } | { ok: false; error: string };

export function parseArgs(argv: string[]): ParseResult {
  const opts: CliOptions = { files: [], check: false, checkCondition: null, debug: false, diag: false, quiet: false, pidfile: null, localPeer: null, version: 0, help: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string | undefined => {
      const v = argv[i + 1];
      if (v === undefined) return undefined;
      i++;
      return v;
    };
    switch (a) {
      case '-f': {
        const v = value();
        if (v === undefined) return { ok: false, error: `option '-f' requires a file or directory name` };
        opts.files.push(v);
        break;
      }
      case '-c': opts.check = true; break;
      case '-cc': {
        const v = value();
        if (v === undefined) return { ok: false, error: `option '-cc' requires a condition` };
        opts.checkCondition = v;
        break;
      }
      case '-d': opts.debug = true; break;
      case '-dD': opts.diag = true; break;
      case '-D': case '-W': case '-Ws': break;
      case '-q': opts.quiet = true; break;
      case '-p': {
        const v = value();
        if (v === undefined) return { ok: false, error: `option '-p' requires a file name` };
        opts.pidfile = v;
        break;
      }
      case '-L': {
        const v = value();
        if (v === undefined) return { ok: false, error: `option '-L' requires a peer name` };
        opts.localPeer = v;
        break;
      }
      case '-v': opts.version = Math.max(opts.version, 1) as 1 | 2; break;
      case '-vv': opts.version = 2; break;
      case '-h': case '--help': opts.help = true; break;
      case '--': {
        // HAProxy: every following argument is a configuration file.
        opts.files.push(...argv.slice(i + 1));
        i = argv.length;
        break;
      }
      default:
        return { ok: false, error: `unknown option '${a}'` };
    }
  }
  return { ok: true, opts };
}
