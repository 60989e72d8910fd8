// Generated from docs/api/openapi.json by `make contract` (quicktype). Do not edit.

export interface BootstrapAccountRequest {
    locale?:  null | string;
    timezone: string;
}

export interface BootstrapAccountResult {
    created: boolean;
    user:    UserProfile;
}

/**
 * `user` in results: the profile as the apps see it.
 */
export interface UserProfile {
    createdAt: string;
    locale:    null | string;
    timezone:  string;
    uid:       string;
}

/**
 * An error answer of any callable.
 */
export interface CallableError {
    error: ErrorBody;
}

export interface ErrorBody {
    details?: null | ErrorDetails;
    /**
     * safe to show; names the field for INVALID_ARGUMENT
     */
    message: string;
    /**
     * the callable error code
     */
    status: ErrorBodyStatus;
}

/**
 * Machine-readable details; absent when there are none.
 */
export interface ErrorDetails {
    /**
     * INVALID_ARGUMENT: the offending paths from `data` (up to ten)
     */
    fields?: string[] | null;
    /**
     * `requires-recent-login`: how recent the sign-in must be, in seconds
     */
    maxAuthAgeSeconds?: number | null;
    reason?:            null | string;
    /**
     * RESOURCE_EXHAUSTED, UNAVAILABLE: how long to wait before retrying
     */
    retryAfterSeconds?: number | null;
    [property: string]: unknown;
}

/**
 * the callable error code
 */
export type ErrorBodyStatus = "INVALID_ARGUMENT" | "UNAUTHENTICATED" | "PERMISSION_DENIED" | "NOT_FOUND" | "FAILED_PRECONDITION" | "ABORTED" | "RESOURCE_EXHAUSTED" | "UNAVAILABLE" | "INTERNAL";

export interface DeleteAccountRequest {
    confirm: boolean;
}

export interface DeleteAccountResult {
    deleted: boolean;
}

export interface DeleteScheduleRequest {
    /**
     * 1-64 [A-Za-z0-9_-]
     */
    id: string;
}

export interface DeleteScheduleResult {
    deleted: boolean;
}

/**
 * A tombstone in `changes`: `{id, deleted: true, updatedAt}`.
 */
export interface DeletedSession {
    deleted:   boolean;
    id:        string;
    updatedAt: string;
}

export interface ExportAccountRequest {
    cursor?: null | string;
}

export interface ExportAccountResult {
    cursor:      null | string;
    devices:     Device[] | null;
    generatedAt: string;
    hasMore:     boolean;
    pushLog:     ExportPushLogEntry[] | null;
    pushPlans:   ExportPushPlan[] | null;
    schedules:   ExportSchedule[] | null;
    sessions:    ExportSession[];
    signIn:      ExportSignIn | null;
    user:        UserProfile | null;
}

/**
 * `Device` of the contract: what the apps see (never the FCM token).
 */
export interface Device {
    appVersion:   null | string;
    deviceId:     string;
    platform:     Platform;
    registeredAt: string;
}

export type Platform = "ios" | "android";

/**
 * One silent push sent to one of the user's devices.
 */
export interface ExportPushLogEntry {
    deviceId: string;
    kind:     string;
    sentAt:   string;
}

/**
 * How far the silent pushes of one schedule are planned.
 */
export interface ExportPushPlan {
    enabled:      boolean;
    plannedUntil: null | string;
    scheduleId:   string;
}

/**
 * A `Schedule` of the contract as stored.
 */
export interface ExportSchedule {
    blockedApps: string[];
    days:        Day[];
    enabled:     boolean;
    end:         string;
    id:          string;
    name:        string;
    start:       string;
    timezone:    string;
    updatedAt:   string;
}

export type Day = "mon" | "tue" | "wed" | "thu" | "fri" | "sat" | "sun";

/**
 * A `FocusSession` of the contract as stored.
 */
export interface ExportSession {
    blockedApps:  string[];
    deviceId:     string;
    endedAt:      null | string;
    id:           string;
    label:        null | string;
    plannedEndAt: null | string;
    scheduleId:   null | string;
    startedAt:    string;
    status:       ExportSessionStatus;
    updatedAt:    string;
}

export type ExportSessionStatus = "running" | "completed" | "abandoned";

/**
 * The user's record in Firebase Auth.
 */
export interface ExportSignIn {
    createdAt:     null | string;
    displayName:   null | string;
    email:         null | string;
    emailVerified: boolean;
    lastSignInAt:  null | string;
    phoneNumber:   null | string;
    providers:     string[];
}

/**
 * `FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted.
 */
export interface FocusSessionOutput {
    blockedApps: string[];
    /**
     * device of the last edit: the tie-breaker
     */
    deviceId: string;
    endedAt:  null | string;
    /**
     * 1-64 [A-Za-z0-9_-]
     */
    id:           string;
    label:        null | string;
    plannedEndAt: null | string;
    scheduleId:   null | string;
    startedAt:    string;
    status:       ExportSessionStatus;
    /**
     * client clock of the last edit: the conflict key
     */
    updatedAt: string;
}

export interface ListSchedulesRequest {
}

export interface ListSchedulesResult {
    schedules: Schedule[];
}

/**
 * `Schedule` of the contract: a recurring focus block.
 */
export interface Schedule {
    blockedApps: string[];
    days:        [Day, ...Day[]];
    enabled:     boolean;
    /**
     * HH:MM, 24-hour
     */
    end: string;
    /**
     * 1-64 [A-Za-z0-9_-]
     */
    id:   string;
    name: string;
    /**
     * HH:MM, 24-hour
     */
    start:     string;
    timezone:  string;
    updatedAt: string;
}

export interface RegisterDeviceRequest {
    appVersion?: null | string;
    /**
     * stable per install
     */
    deviceId: string;
    /**
     * FCM registration token (printable ASCII)
     */
    fcmToken: string;
    platform: Platform;
}

export interface RegisterDeviceResult {
    device: Device;
}

export interface SyncFocusSessionsRequest {
    cursor?: null | string;
    /**
     * stable per install
     */
    deviceId:  string;
    limit?:    number;
    mutations: Mutation[];
}

/**
 * `{mutationId, op: "upsert", session}` or `{mutationId, op: "delete", id, updatedAt}`.
 */
export interface Mutation {
    id?:        null | string;
    mutationId: string;
    op:         Op;
    session?:   FocusSessionInput | null;
    updatedAt?: null | string;
}

export type Op = "upsert" | "delete";

/**
 * `FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted.
 */
export interface FocusSessionInput {
    blockedApps?: string[];
    /**
     * device of the last edit: the tie-breaker
     */
    deviceId: string;
    endedAt?: null | string;
    /**
     * 1-64 [A-Za-z0-9_-]
     */
    id:            string;
    label?:        null | string;
    plannedEndAt?: null | string;
    scheduleId?:   null | string;
    startedAt:     string;
    status:        ExportSessionStatus;
    /**
     * client clock of the last edit: the conflict key
     */
    updatedAt: string;
}

export interface SyncFocusSessionsResult {
    applied:  string[];
    changes:  ChangeElement[];
    cursor:   string;
    hasMore:  boolean;
    rejected: Rejection[];
}

/**
 * `FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted.
 *
 * A tombstone in `changes`: `{id, deleted: true, updatedAt}`.
 */
export interface ChangeElement {
    blockedApps?: string[];
    /**
     * device of the last edit: the tie-breaker
     */
    deviceId?: string;
    endedAt?:  null | string;
    /**
     * 1-64 [A-Za-z0-9_-]
     */
    id:            string;
    label?:        null | string;
    plannedEndAt?: null | string;
    scheduleId?:   null | string;
    startedAt?:    string;
    status?:       ExportSessionStatus;
    /**
     * client clock of the last edit: the conflict key
     */
    updatedAt: string;
    deleted?:  boolean;
}

export interface Rejection {
    /**
     * Known values: invalid-argument; more may come, and for one it does not know the app drops
     * the mutation, whatever its code.
     */
    code:       string;
    message:    string;
    mutationId: string;
}

export interface UnregisterDeviceRequest {
    /**
     * stable per install
     */
    deviceId: string;
}

export interface UnregisterDeviceResult {
    removed: boolean;
}

export interface UpsertScheduleRequest {
    schedule: Schedule;
}

export interface UpsertScheduleResult {
    nextOccurrences: OccurrenceWindow[];
    schedule:        Schedule;
}

export interface OccurrenceWindow {
    endAt:   string;
    startAt: string;
}
