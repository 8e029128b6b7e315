/**
 * Presence as users see it, against the sockets actually open: a watcher joined to
 * `presence:<workspace>` (Phoenix.Presence state and diffs, on the stock client) and
 * `GET /api/presence/online` must both list exactly the users holding an open socket.
 */
import { Presence, type Socket } from "phoenix";
import { joinOnce } from "./message-load.js";

export interface PresenceWatcher {
  /** The users the watcher's Phoenix.Presence lists. */
  users(): Set<string>;
}

export async function watchPresence(socket: Socket, workspace: string): Promise<PresenceWatcher> {
  const channel = socket.channel(`presence:${workspace}`);
  const presence = new Presence(channel);
  await joinOnce(channel);
  return { users: () => new Set(presence.list((id: string) => id)) };
}

/** The users `/api/presence/online` lists, or undefined when it does not answer 200. */
export async function onlineOverRest(base: string, token: string): Promise<Set<string> | undefined> {
  const response = await fetch(`${base}/api/presence/online`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(5_000) }).catch(
    () => undefined,
  );
  if (response?.status !== 200) return undefined;
  const body = (await response.json()) as { users: { user_id: string }[] };
  return new Set(body.users.map((user) => user.user_id));
}

/** One look at presence: what each view shows against what is connected. */
export interface PresenceLook {
  readonly converged: boolean;
  readonly connected: string[];
  /** Listed but not connected, and connected but not listed, per view (REST undefined: it did not answer). */
  readonly watcher: { extra: string[]; absent: string[] };
  readonly rest: { extra: string[]; absent: string[] } | undefined;
}

export function comparePresence(connected: Set<string>, watcher: Set<string>, rest: Set<string> | undefined): PresenceLook {
  const diff = (listed: Set<string>) => ({
    extra: [...listed].filter((user) => !connected.has(user)).sort(),
    absent: [...connected].filter((user) => !listed.has(user)).sort(),
  });
  const watcherDiff = diff(watcher);
  const restDiff = rest === undefined ? undefined : diff(rest);
  const clean = (d: { extra: string[]; absent: string[] } | undefined) => d !== undefined && d.extra.length === 0 && d.absent.length === 0;
  return { converged: clean(watcherDiff) && clean(restDiff), connected: [...connected].sort(), watcher: watcherDiff, rest: restDiff };
}

/** What `look` shows wrongly, per view, and how much of it `before` (the previous step's last look) already showed. */
export function describePresence(look: PresenceLook, before: PresenceLook | undefined): string {
  const wrong = (view: { extra: string[]; absent: string[] } | undefined) =>
    view === undefined ? "no answer" : `listed but gone [${view.extra.join(", ")}], connected but not listed [${view.absent.join(", ")}]`;
  const keys = (l: PresenceLook | undefined) =>
    new Set(l === undefined ? [] : [l.watcher, l.rest].flatMap((view, i) => (view === undefined ? [] : [...view.extra.map((u) => `${i}+${u}`), ...view.absent.map((u) => `${i}-${u}`)])));
  const earlier = keys(before);
  const inherited = [...keys(look)].filter((key) => earlier.has(key)).length;
  return `watcher: ${wrong(look.watcher)}; REST: ${wrong(look.rest)}${inherited > 0 ? `; ${inherited} of these discrepancies were already there at the end of the previous step` : ""}`;
}
