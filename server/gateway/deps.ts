// What every gateway endpoint needs: the daemon's state and the completions use case it hands requests to.
import type { Services } from '../app/services';
import type { CompletionService } from '../usecases/completions';

export interface GatewayDeps {
  services: Services;
  completions: CompletionService;
}
