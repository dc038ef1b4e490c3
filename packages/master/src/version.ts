/** Switchyard's version, shown by -v, show info and show proc. */
export const VERSION = '0.1.0';
export const RELEASE_DATE = '2026/11/24';
