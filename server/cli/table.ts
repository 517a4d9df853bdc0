// cli-table3, loaded on the first table a command prints. Loading it loads string-width, which builds
// an Intl.Segmenter at once: that pages ICU data into the process (about 6 MiB of resident memory,
// issue 21) — in a daemon that never prints a table.
import type CliTable from 'cli-table3';

type TableOptions = ConstructorParameters<typeof CliTable>[0];
let ctor: typeof CliTable | undefined;

export function newTable(options: TableOptions): InstanceType<typeof CliTable> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- a lazy load: esbuild bundles it and runs it here
  ctor ??= require('cli-table3') as typeof CliTable;
  return new ctor(options);
}
