// A real call through the Firebase JS SDK, typed with the models generated from the contract
// (clients/typescript/contract.ts). `make test` type-checks it (tsc --noEmit) and runs it against
// the local stack (tests/e2e/test_contract_e2e.py). Settings come from the environment:
// FOCUS_PROJECT, FOCUS_REGION, FOCUS_AUTH_HOST ("127.0.0.1:9099"), FOCUS_FUNCTIONS_HOST,
// FOCUS_FUNCTIONS_PORT. It prints the result as one line of JSON.

import { initializeApp } from "@firebase/app";
import { connectAuthEmulator, createUserWithEmailAndPassword, getAuth } from "@firebase/auth";
import { connectFunctionsEmulator, getFunctions, httpsCallable } from "@firebase/functions";

import type {
  BootstrapAccountRequest,
  BootstrapAccountResult,
  UserProfile,
} from "../../clients/typescript/contract";

declare const process: {
  env: Record<string, string | undefined>;
  stdout: { write(text: string): void };
  exit(code: number): never;
};

function setting(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

export async function bootstrapAccount(
  request: BootstrapAccountRequest,
): Promise<BootstrapAccountResult> {
  const app = initializeApp({ projectId: setting("FOCUS_PROJECT"), apiKey: "demo-key" });
  const auth = getAuth(app);
  connectAuthEmulator(auth, `http://${setting("FOCUS_AUTH_HOST")}`, { disableWarnings: true });
  const email = `sdk-${Date.now()}@example.com`;
  await createUserWithEmailAndPassword(auth, email, "s3cret-pass");
  const functions = getFunctions(app, setting("FOCUS_REGION"));
  connectFunctionsEmulator(
    functions,
    setting("FOCUS_FUNCTIONS_HOST"),
    Number(setting("FOCUS_FUNCTIONS_PORT")),
  );
  const call = httpsCallable<BootstrapAccountRequest, BootstrapAccountResult>(
    functions,
    "bootstrapAccount",
  );
  const answer = await call(request);
  return answer.data;
}

async function main(): Promise<void> {
  const result = await bootstrapAccount({ timezone: "Europe/Paris", locale: "fr-FR" });
  const user: UserProfile = result.user;
  const created: boolean = result.created;
  const createdAt: string = user.createdAt;
  const locale: string | null = user.locale;
  process.stdout.write(JSON.stringify({ uid: user.uid, created, createdAt, locale }) + "\n");
  process.exit(0); // the Auth SDK keeps a token refresh timer alive
}

main().catch((error: unknown) => {
  process.stdout.write(JSON.stringify({ error: String(error) }) + "\n");
  process.exit(1);
});
