import type { Logger } from "../../../infra/log/logger.js";
import { presenceDiffChannel, type PresenceDiffDelta, type PresenceEntries } from "../projections/presence/presence-model.js";
import type { ChannelOutlet } from "../../../platform/phoenix/channel.js";
import { parseMessage, type ChannelSource } from "../../../platform/gateway/pubsub-hub.js";
import { DiffAccumulator, type PresenceDiff } from "../presence-diff.js";

/** Reads a workspace's presence_state. */
export interface PresenceStateReader {
  workspaceState(workspaceId: string): Promise<PresenceEntries>;
}

interface Member {
  readonly outlet: ChannelOutlet;
  /** Diffs flushed before this member's presence_state went out; undefined once it has. */
  held: PresenceDiff[] | undefined;
}

interface Room {
  readonly workspaceId: string;
  readonly members: Set<Member>;
  readonly pending: DiffAccumulator;
  readonly subscribed: Promise<() => void>;
  lastFlush: number;
  timer: NodeJS.Timeout | undefined;
  /** Resyncs reading the state: diffs wait until it is out. */
  resyncing: number;
}

/**
 * The `presence:<workspaceId>` channels of this gateway, one room per workspace with joined
 * channels. A room follows the workspace's presence deltas (subscribed before any member reads
 * its state, so nothing falls between the state and the diffs) and pushes them to every member
 * as Phoenix.Presence `presence_diff`s, merged over `intervalMs`: the first change after a quiet
 * window goes out at once, the changes that follow within the window together at its end. A
 * mass reconnect of N users therefore costs each socket one diff per window, not N.
 *
 * Each join gets one `presence_state`, then every diff flushed after it registered. Diffs that
 * the state already includes are harmless to re-apply (joins are keyed by `phx_ref`, and a
 * meta's leave always follows its join). After Redis pub/sub reconnects, and when the projection
 * says it caught up without publishing diffs (`resync`), every member gets a fresh
 * `presence_state`, which the Phoenix client reconciles into joins and leaves; the diffs that
 * arrive while that state is read go out after it, since the state may predate them.
 */
export class PresenceRooms {
  private readonly rooms = new Map<string, Room>();

  constructor(
    private readonly hub: ChannelSource,
    private readonly reader: PresenceStateReader,
    private readonly topicPrefix: string,
    private readonly intervalMs: number,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers `outlet` in its workspace's room and pushes its presence_state; resolves with the function that leaves. */
  async enter(workspaceId: string, outlet: ChannelOutlet): Promise<() => void> {
    const room = this.roomOf(workspaceId);
    const member: Member = { outlet, held: [] };
    room.members.add(member);
    const leave = () => this.leave(room, member);
    try {
      await room.subscribed;
      outlet.push("presence_state", await this.reader.workspaceState(workspaceId));
    } catch (error) {
      leave();
      throw error;
    }
    for (const diff of member.held ?? []) outlet.push("presence_diff", diff);
    member.held = undefined;
    return leave;
  }

  /** Workspaces with joined presence channels here. */
  get size(): number {
    return this.rooms.size;
  }

  private roomOf(workspaceId: string): Room {
    const existing = this.rooms.get(workspaceId);
    if (existing !== undefined) return existing;
    const channel = presenceDiffChannel(this.topicPrefix, workspaceId);
    const room: Room = {
      workspaceId,
      members: new Set(),
      pending: new DiffAccumulator(),
      lastFlush: 0,
      timer: undefined,
      resyncing: 0,
      subscribed: this.hub.listen(channel, {
        onMessage: (message) => {
          const delta = parseMessage<PresenceDiffDelta>(message, channel, this.logger);
          if (delta !== undefined) this.receive(room, delta);
        },
        onResync: () => void this.resync(room),
      }),
    };
    room.subscribed.catch(() => this.rooms.get(workspaceId) === room && this.rooms.delete(workspaceId));
    this.rooms.set(workspaceId, room);
    return room;
  }

  private receive(room: Room, delta: PresenceDiffDelta): void {
    if (delta.resync === true) return void this.resync(room);
    room.pending.add(delta);
    if (room.timer !== undefined) return;
    const wait = room.lastFlush + this.intervalMs - this.now();
    if (wait <= 0) {
      // Leading edge: one change after a quiet window goes out at once (still after the current tick's deltas).
      room.timer = setTimeout(() => this.flush(room), 0);
    } else {
      room.timer = setTimeout(() => this.flush(room), wait);
    }
  }

  private flush(room: Room): void {
    room.timer = undefined;
    if (room.resyncing > 0) return;
    room.lastFlush = this.now();
    if (room.pending.empty) return;
    const diff = room.pending.take();
    for (const member of room.members) {
      if (member.held !== undefined) member.held.push(diff);
      else member.outlet.push("presence_diff", diff);
    }
  }

  private async resync(room: Room): Promise<void> {
    // Diffs received so far were committed before the state is read: it includes them. Members
    // still waiting for their own, older, state get them as they would have.
    const anyIncluded = !room.pending.empty;
    const included = room.pending.take();
    if (anyIncluded) for (const member of room.members) member.held?.push(included);
    room.resyncing += 1;
    try {
      const state = await this.reader.workspaceState(room.workspaceId);
      for (const member of room.members) if (member.held === undefined) member.outlet.push("presence_state", state);
    } catch (error) {
      this.logger.warn({ err: error, workspaceId: room.workspaceId }, "presence resync failed");
      const later = room.pending.take();
      room.pending.add(included);
      room.pending.add(later);
    } finally {
      room.resyncing -= 1;
      if (room.resyncing === 0 && room.timer === undefined && !room.pending.empty) room.timer = setTimeout(() => this.flush(room), 0);
    }
  }

  private leave(room: Room, member: Member): void {
    if (!room.members.delete(member) || room.members.size > 0) return;
    if (this.rooms.get(room.workspaceId) === room) this.rooms.delete(room.workspaceId);
    clearTimeout(room.timer);
    room.subscribed.then((unsubscribe) => unsubscribe()).catch(() => undefined);
  }
}
