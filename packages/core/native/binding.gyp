{
  # Built by packages/core/native/build.js on `pnpm install` (see the
  # "install" script in packages/core/package.json). Linux only: abstract
  # sockets, SOCK_CLOEXEC and MSG_NOSIGNAL are Linux spellings, and systemd
  # is the reason this exists.
  "targets": [
    {
      "target_name": "unix_dgram",
      "sources": ["unix_dgram.c"],
      # Node-API 8 (Node >= 12.22/14.17/16) for type-tagged handles; the
      # binary is ABI-stable across Node majors, so no rebuild on upgrade.
      "defines": ["NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-Wshadow", "-Wconversion"]
    }
  ]
}
