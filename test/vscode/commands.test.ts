// The command suite: every command of issue 7 that extension.test.ts does not already drive, run in
// order against one daemon (later tests rely on the provider "fake" added in the suite set-up).
import { suite } from 'mocha';
import { registerChainTests } from './chain.test';
import { registerCompleteTests } from './complete.test';
import { commandEnv } from './env';
import { registerFirstPartyTests } from './firstParty.test';
import { registerLmTests } from './lm.test';
import { registerPrivacyTests } from './privacy.test';
import { registerSecretTests } from './secrets.test';
import { registerToolTests } from './tools.test';
import { registerWebviewTests } from './webview.test';

export function registerCommandTests(): void {
  suite('Backstop commands in a real VS Code', () => {
    const env = commandEnv();
    registerChainTests(env);
    registerToolTests(env);
    registerSecretTests(env);
    registerCompleteTests(env);
    registerWebviewTests(env);
    registerLmTests(env);
    registerPrivacyTests(env);
    registerFirstPartyTests(env);
  });
}
