// Which documents inline completions may read. Pure, for unit tests. Only real files and untitled
// buffers (not output channels, git diffs, settings UIs or other extensions' virtual documents),
// and never dotenv files: their text is secrets, and a prompt would send it to a cloud provider.
export const INLINE_SCHEMES = ['file', 'untitled'] as const;

/** ".env", ".env.local", "production.env", "app.env.example", direnv's ".envrc"… */
const DOTENV = /(^|[\\/])(\.envrc|\.env(\.[^\\/]*)?|[^\\/]+\.env(\.[^\\/]*)?)$/i;

export function isSecretsFile(fileName: string): boolean {
  return DOTENV.test(fileName);
}
