// ora, loaded when a command shows a spinner (stderr is a terminal). Loading it loads string-width,
// which builds an Intl.Segmenter at once: ICU data paged into every process that loads the bundle,
// the daemon included (about 6 MiB of resident memory, issue 21).
import type { Ora } from 'ora';

export async function startSpinner(text: string): Promise<Ora> {
  const { default: ora } = await import('ora');
  return ora({ text, stream: process.stderr }).start();
}
