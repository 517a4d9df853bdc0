// The daemon's version, injected by esbuild from package.json (falls back for tsx runs).
declare const __BACKSTOP_VERSION__: string | undefined;
export const VERSION: string = typeof __BACKSTOP_VERSION__ === 'string' ? __BACKSTOP_VERSION__ : '0.0.0-dev';
