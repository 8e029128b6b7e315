import { Port } from "../../platform/ports.js";
import type { UserSessions } from "./session-commands.js";

/**
 * Disconnecting a user everywhere and extending its connections' authentication, for the
 * server API (`DisconnectUser`, `RefreshConnection`): provided by this context on gateways.
 */
export const USER_SESSIONS = new Port<UserSessions>("the user sessions (disconnect, refresh)");
