// Imported first by the CLI: Ctrl-C while modules load or a connection (or an embedded daemon) starts
// has nothing to cancel yet, and exits as cancelled (EXIT_CANCELLED) instead of dying by the signal
// (130). A command takes the handler away once it handles Ctrl-C itself.
import { EXIT_CANCELLED } from './exitCodes';

const onSigint = (): never => process.exit(EXIT_CANCELLED);
process.on('SIGINT', onSigint);

/** Remove the start-up Ctrl-C handler (the command now has its own). */
export function releaseEarlyInterrupt(): void {
  process.off('SIGINT', onSigint);
}
