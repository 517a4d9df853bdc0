/** Exit codes, as the README states them: 0 ok, 1 unexpected error, 2 bad usage or configuration, 3 no model
 * could answer, 4 cancelled (Ctrl-C). */
export const EXIT_OK = 0;
export const EXIT_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_EXHAUSTED = 3;
export const EXIT_CANCELLED = 4;
