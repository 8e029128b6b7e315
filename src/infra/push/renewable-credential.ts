import type { ProviderFailure } from "../../platform/notifications/provider-result.js";

/** A credential a provider takes for a while: an APNs provider JWT, an OAuth2 access token. */
export interface IssuedCredential {
  readonly value: string;
  /** When (ms since the epoch) to issue the next one instead of using this one. */
  readonly renewAt: number;
}

/** The provider's refusal to issue a credential, as the failure a send answers with. */
export class CredentialFailure extends Error {
  constructor(readonly failure: ProviderFailure, options?: ErrorOptions) {
    super(`could not obtain the provider's credential: ${failure.reason}`, options);
    this.name = "CredentialFailure";
  }
}

/**
 * One credential shared by every send of a client, issued on first use and again once due.
 *
 * - `current` issues at most one credential at a time: concurrent callers share it.
 * - `renewRejected(value)` is for a credential the provider refused: a newer one issued meanwhile
 *   is answered as it is; otherwise one new credential is issued, unless the rejected one was
 *   itself such a renewal issued less than `renewalFloorMs` ago (then undefined: the credentials
 *   themselves are wrong, and renewing again would only load the issuer).
 * - Both reject with a {@link CredentialFailure} when issuing fails; the next call tries again.
 */
export interface RenewableCredential {
  current(): Promise<string>;
  renewRejected(rejected: string): Promise<string | undefined>;
}

export function renewableCredential(issue: (nowMs: number) => Promise<IssuedCredential>, o: { readonly now: () => number; readonly renewalFloorMs: number }): RenewableCredential {
  let held: { credential: IssuedCredential; issuedAt: number; renewal: boolean } | undefined;
  let issuing: Promise<string> | undefined;

  function issueOne(renewal: boolean): Promise<string> {
    issuing ??= (async () => {
      const issuedAt = o.now();
      try {
        const credential = await issue(issuedAt);
        held = { credential, issuedAt, renewal };
        return credential.value;
      } finally {
        issuing = undefined;
      }
    })();
    return issuing;
  }

  return {
    current() {
      if (issuing !== undefined) return issuing;
      if (held !== undefined && o.now() < held.credential.renewAt) return Promise.resolve(held.credential.value);
      return issueOne(false);
    },
    async renewRejected(rejected) {
      if (issuing !== undefined) return issuing;
      if (held !== undefined && held.credential.value !== rejected) return held.credential.value;
      if (held?.renewal === true && o.now() - held.issuedAt < o.renewalFloorMs) return undefined;
      return issueOne(true);
    },
  };
}

/** What one attempt answers when the provider refused the credential it was made with. */
export interface CredentialRefused {
  readonly outcome: "credential_refused";
  readonly status: number;
  readonly reason: string;
}

/**
 * Runs `attempt` with the current credential and, when the provider refuses that credential, once
 * more with a renewed one (see {@link RenewableCredential.renewRejected}). A refusal that remains,
 * and a failure to issue a credential, are answered as the provider failure they are.
 */
export async function withCredential<R extends { readonly outcome: string }>(
  credential: RenewableCredential,
  attempt: (value: string) => Promise<R | CredentialRefused>,
): Promise<R | ProviderFailure> {
  const refused = (answer: R | CredentialRefused): answer is CredentialRefused => answer.outcome === "credential_refused";
  try {
    const value = await credential.current();
    const first = await attempt(value);
    if (!refused(first)) return first;
    const renewed = await credential.renewRejected(value);
    const last = renewed === undefined ? first : await attempt(renewed);
    return refused(last) ? { outcome: "auth_failed", status: last.status, reason: last.reason } : last;
  } catch (error) {
    if (error instanceof CredentialFailure) return error.failure;
    throw error;
  }
}
