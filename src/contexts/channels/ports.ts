import type { PresenceEntries } from "../presence/projections/presence/presence-model.js";
import type { ChannelOutlet } from "../../platform/phoenix/channel.js";
import { Port } from "../../platform/ports.js";

/**
 * The presence of a workspace as a joined channel sees it: `enter` pushes `presence_state` to the
 * outlet, then each `presence_diff` (Phoenix.Presence format), until the returned function is
 * called; `workspaceState` is the current state. Channels filter both down to their subscribers.
 */
export interface WorkspacePresence {
  enter(workspaceId: string, outlet: ChannelOutlet): Promise<() => void>;
  workspaceState(workspaceId: string): Promise<PresenceEntries>;
}

/** Provided by the presence context; absent, channels with presence on answer joins without presence. */
export const WORKSPACE_PRESENCE = new Port<WorkspacePresence>("the workspace presence of the presence context");
