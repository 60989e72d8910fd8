// Generated from docs/api/openapi.json by `make contract` (quicktype). Do not edit.

// To parse the JSON, install kotlin's serialization plugin and do:
//
// val json                     = Json { allowStructuredMapKeys = true }
// val bootstrapAccountRequest  = json.parse(BootstrapAccountRequest.serializer(), jsonString)
// val bootstrapAccountResult   = json.parse(BootstrapAccountResult.serializer(), jsonString)
// val callableError            = json.parse(CallableError.serializer(), jsonString)
// val deleteAccountRequest     = json.parse(DeleteAccountRequest.serializer(), jsonString)
// val deleteAccountResult      = json.parse(DeleteAccountResult.serializer(), jsonString)
// val deleteScheduleRequest    = json.parse(DeleteScheduleRequest.serializer(), jsonString)
// val deleteScheduleResult     = json.parse(DeleteScheduleResult.serializer(), jsonString)
// val deletedSession           = json.parse(DeletedSession.serializer(), jsonString)
// val device                   = json.parse(Device.serializer(), jsonString)
// val errorBody                = json.parse(ErrorBody.serializer(), jsonString)
// val errorDetails             = json.parse(ErrorDetails.serializer(), jsonString)
// val exportAccountRequest     = json.parse(ExportAccountRequest.serializer(), jsonString)
// val exportAccountResult      = json.parse(ExportAccountResult.serializer(), jsonString)
// val exportPushLogEntry       = json.parse(ExportPushLogEntry.serializer(), jsonString)
// val exportPushPlan           = json.parse(ExportPushPlan.serializer(), jsonString)
// val exportSchedule           = json.parse(ExportSchedule.serializer(), jsonString)
// val exportSession            = json.parse(ExportSession.serializer(), jsonString)
// val exportSignIn             = json.parse(ExportSignIn.serializer(), jsonString)
// val focusSessionInput        = json.parse(FocusSessionInput.serializer(), jsonString)
// val focusSessionOutput       = json.parse(FocusSessionOutput.serializer(), jsonString)
// val listSchedulesRequest     = json.parse(ListSchedulesRequest.serializer(), jsonString)
// val listSchedulesResult      = json.parse(ListSchedulesResult.serializer(), jsonString)
// val mutation                 = json.parse(Mutation.serializer(), jsonString)
// val occurrenceWindow         = json.parse(OccurrenceWindow.serializer(), jsonString)
// val registerDeviceRequest    = json.parse(RegisterDeviceRequest.serializer(), jsonString)
// val registerDeviceResult     = json.parse(RegisterDeviceResult.serializer(), jsonString)
// val rejection                = json.parse(Rejection.serializer(), jsonString)
// val schedule                 = json.parse(Schedule.serializer(), jsonString)
// val syncFocusSessionsRequest = json.parse(SyncFocusSessionsRequest.serializer(), jsonString)
// val syncFocusSessionsResult  = json.parse(SyncFocusSessionsResult.serializer(), jsonString)
// val unregisterDeviceRequest  = json.parse(UnregisterDeviceRequest.serializer(), jsonString)
// val unregisterDeviceResult   = json.parse(UnregisterDeviceResult.serializer(), jsonString)
// val upsertScheduleRequest    = json.parse(UpsertScheduleRequest.serializer(), jsonString)
// val upsertScheduleResult     = json.parse(UpsertScheduleResult.serializer(), jsonString)
// val userProfile              = json.parse(UserProfile.serializer(), jsonString)

@file:UseSerializers(OffsetDateTimeSerializer::class)

package app.focus.contract

import java.time.OffsetDateTime

import kotlinx.serialization.*
import kotlinx.serialization.json.*
import kotlinx.serialization.descriptors.*
import kotlinx.serialization.encoding.*

@Serializable
data class BootstrapAccountRequest (
    val locale: String? = null,
    val timezone: String
)

@Serializable
data class BootstrapAccountResult (
    val created: Boolean,
    val user: UserProfile
)

/**
 * `user` in results: the profile as the apps see it.
 */
@Serializable
data class UserProfile (
    val createdAt: OffsetDateTime,
    val locale: String? = null,
    val timezone: String,
    val uid: String
)

/**
 * An error answer of any callable.
 */
@Serializable
data class CallableError (
    val error: ErrorBody
)

@Serializable
data class ErrorBody (
    val details: ErrorDetails? = null,

    /**
     * safe to show; names the field for INVALID_ARGUMENT
     */
    val message: String,

    /**
     * the callable error code
     */
    val status: ErrorBodyStatus
)

/**
 * Machine-readable details; absent when there are none.
 */
@Serializable
data class ErrorDetails (
    /**
     * INVALID_ARGUMENT: the offending paths from `data` (up to ten)
     */
    val fields: List<String>? = null,

    /**
     * `requires-recent-login`: how recent the sign-in must be, in seconds
     */
    val maxAuthAgeSeconds: Long? = null,

    val reason: String? = null,

    /**
     * RESOURCE_EXHAUSTED, UNAVAILABLE: how long to wait before retrying
     */
    val retryAfterSeconds: Long? = null
)

/**
 * the callable error code
 */
@Serializable
enum class ErrorBodyStatus(val value: String) {
    @SerialName("ABORTED") Aborted("ABORTED"),
    @SerialName("FAILED_PRECONDITION") FailedPrecondition("FAILED_PRECONDITION"),
    @SerialName("INTERNAL") Internal("INTERNAL"),
    @SerialName("INVALID_ARGUMENT") InvalidArgument("INVALID_ARGUMENT"),
    @SerialName("NOT_FOUND") NotFound("NOT_FOUND"),
    @SerialName("PERMISSION_DENIED") PermissionDenied("PERMISSION_DENIED"),
    @SerialName("RESOURCE_EXHAUSTED") ResourceExhausted("RESOURCE_EXHAUSTED"),
    @SerialName("UNAUTHENTICATED") Unauthenticated("UNAUTHENTICATED"),
    @SerialName("UNAVAILABLE") Unavailable("UNAVAILABLE");
}

@Serializable
data class DeleteAccountRequest (
    val confirm: Boolean
)

@Serializable
data class DeleteAccountResult (
    val deleted: Boolean
)

@Serializable
data class DeleteScheduleRequest (
    /**
     * 1-64 [A-Za-z0-9_-]
     */
    val id: String
)

@Serializable
data class DeleteScheduleResult (
    val deleted: Boolean
)

/**
 * A tombstone in `changes`: `{id, deleted: true, updatedAt}`.
 */
@Serializable
data class DeletedSession (
    val deleted: Boolean,
    val id: String,
    val updatedAt: OffsetDateTime
)

@Serializable
data class ExportAccountRequest (
    val cursor: String? = null
)

@Serializable
data class ExportAccountResult (
    val cursor: String? = null,
    val devices: List<Device>? = null,
    val generatedAt: OffsetDateTime,
    val hasMore: Boolean,
    val pushLog: List<ExportPushLogEntry>? = null,
    val pushPlans: List<ExportPushPlan>? = null,
    val schedules: List<ExportSchedule>? = null,
    val sessions: List<ExportSession>,
    val signIn: ExportSignIn? = null,
    val user: UserProfile? = null
)

/**
 * `Device` of the contract: what the apps see (never the FCM token).
 */
@Serializable
data class Device (
    val appVersion: String? = null,

    @SerialName("deviceId")
    val deviceID: String,

    val platform: Platform,
    val registeredAt: OffsetDateTime
)

@Serializable
enum class Platform(val value: String) {
    @SerialName("android") Android("android"),
    @SerialName("ios") Ios("ios");
}

/**
 * One silent push sent to one of the user's devices.
 */
@Serializable
data class ExportPushLogEntry (
    @SerialName("deviceId")
    val deviceID: String,

    val kind: String,
    val sentAt: OffsetDateTime
)

/**
 * How far the silent pushes of one schedule are planned.
 */
@Serializable
data class ExportPushPlan (
    val enabled: Boolean,
    val plannedUntil: OffsetDateTime? = null,

    @SerialName("scheduleId")
    val scheduleID: String
)

/**
 * A `Schedule` of the contract as stored.
 */
@Serializable
data class ExportSchedule (
    val blockedApps: List<String>,
    val days: List<Day>,
    val enabled: Boolean,
    val end: String,
    val id: String,
    val name: String,
    val start: String,
    val timezone: String,
    val updatedAt: OffsetDateTime
)

@Serializable
enum class Day(val value: String) {
    @SerialName("fri") Fri("fri"),
    @SerialName("mon") Mon("mon"),
    @SerialName("sat") Sat("sat"),
    @SerialName("sun") Sun("sun"),
    @SerialName("thu") Thu("thu"),
    @SerialName("tue") Tue("tue"),
    @SerialName("wed") Wed("wed");
}

/**
 * A `FocusSession` of the contract as stored.
 */
@Serializable
data class ExportSession (
    val blockedApps: List<String>,

    @SerialName("deviceId")
    val deviceID: String,

    val endedAt: OffsetDateTime? = null,
    val id: String,
    val label: String? = null,
    val plannedEndAt: OffsetDateTime? = null,

    @SerialName("scheduleId")
    val scheduleID: String? = null,

    val startedAt: OffsetDateTime,
    val status: ExportSessionStatus,
    val updatedAt: OffsetDateTime
)

@Serializable
enum class ExportSessionStatus(val value: String) {
    @SerialName("abandoned") Abandoned("abandoned"),
    @SerialName("completed") Completed("completed"),
    @SerialName("running") Running("running");
}

/**
 * The user's record in Firebase Auth.
 */
@Serializable
data class ExportSignIn (
    val createdAt: OffsetDateTime? = null,
    val displayName: String? = null,
    val email: String? = null,
    val emailVerified: Boolean,
    val lastSignInAt: OffsetDateTime? = null,
    val phoneNumber: String? = null,
    val providers: List<String>
)

/**
 * `FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted.
 */
@Serializable
data class FocusSessionOutput (
    val blockedApps: List<String>,

    /**
     * device of the last edit: the tie-breaker
     */
    @SerialName("deviceId")
    val deviceID: String,

    val endedAt: OffsetDateTime? = null,

    /**
     * 1-64 [A-Za-z0-9_-]
     */
    val id: String,

    val label: String? = null,
    val plannedEndAt: OffsetDateTime? = null,

    @SerialName("scheduleId")
    val scheduleID: String? = null,

    val startedAt: OffsetDateTime,
    val status: ExportSessionStatus,

    /**
     * client clock of the last edit: the conflict key
     */
    val updatedAt: OffsetDateTime
)

@Serializable
class ListSchedulesRequest()

@Serializable
data class ListSchedulesResult (
    val schedules: List<Schedule>
)

/**
 * `Schedule` of the contract: a recurring focus block.
 */
@Serializable
data class Schedule (
    val blockedApps: List<String>,
    val days: List<Day>,
    val enabled: Boolean,

    /**
     * HH:MM, 24-hour
     */
    val end: String,

    /**
     * 1-64 [A-Za-z0-9_-]
     */
    val id: String,

    val name: String,

    /**
     * HH:MM, 24-hour
     */
    val start: String,

    val timezone: String,
    val updatedAt: OffsetDateTime
)

@Serializable
data class RegisterDeviceRequest (
    val appVersion: String? = null,

    /**
     * stable per install
     */
    @SerialName("deviceId")
    val deviceID: String,

    /**
     * FCM registration token (printable ASCII)
     */
    val fcmToken: String,

    val platform: Platform
)

@Serializable
data class RegisterDeviceResult (
    val device: Device
)

@Serializable
data class SyncFocusSessionsRequest (
    val cursor: String? = null,

    /**
     * stable per install
     */
    @SerialName("deviceId")
    val deviceID: String,

    val limit: Long? = null,
    val mutations: List<Mutation>
)

/**
 * `{mutationId, op: "upsert", session}` or `{mutationId, op: "delete", id, updatedAt}`.
 */
@Serializable
data class Mutation (
    val id: String? = null,

    @SerialName("mutationId")
    val mutationID: String,

    val op: Op,
    val session: FocusSessionInput? = null,
    val updatedAt: OffsetDateTime? = null
)

@Serializable
enum class Op(val value: String) {
    @SerialName("delete") Delete("delete"),
    @SerialName("upsert") Upsert("upsert");
}

/**
 * `FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted.
 */
@Serializable
data class FocusSessionInput (
    val blockedApps: List<String>? = null,

    /**
     * device of the last edit: the tie-breaker
     */
    @SerialName("deviceId")
    val deviceID: String,

    val endedAt: OffsetDateTime? = null,

    /**
     * 1-64 [A-Za-z0-9_-]
     */
    val id: String,

    val label: String? = null,
    val plannedEndAt: OffsetDateTime? = null,

    @SerialName("scheduleId")
    val scheduleID: String? = null,

    val startedAt: OffsetDateTime,
    val status: ExportSessionStatus,

    /**
     * client clock of the last edit: the conflict key
     */
    val updatedAt: OffsetDateTime
)

@Serializable
data class SyncFocusSessionsResult (
    val applied: List<String>,
    val changes: List<ChangeElement>,
    val cursor: String,
    val hasMore: Boolean,
    val rejected: List<Rejection>
)

/**
 * `FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted.
 *
 * A tombstone in `changes`: `{id, deleted: true, updatedAt}`.
 */
@Serializable
data class ChangeElement (
    val blockedApps: List<String>? = null,

    /**
     * device of the last edit: the tie-breaker
     */
    @SerialName("deviceId")
    val deviceID: String? = null,

    val endedAt: OffsetDateTime? = null,

    /**
     * 1-64 [A-Za-z0-9_-]
     */
    val id: String,

    val label: String? = null,
    val plannedEndAt: OffsetDateTime? = null,

    @SerialName("scheduleId")
    val scheduleID: String? = null,

    val startedAt: OffsetDateTime? = null,
    val status: ExportSessionStatus? = null,

    /**
     * client clock of the last edit: the conflict key
     */
    val updatedAt: OffsetDateTime,

    val deleted: Boolean? = null
)

@Serializable
data class Rejection (
    /**
     * Known values: invalid-argument; more may come, and for one it does not know the app drops
     * the mutation, whatever its code.
     */
    val code: String,

    val message: String,

    @SerialName("mutationId")
    val mutationID: String
)

@Serializable
data class UnregisterDeviceRequest (
    /**
     * stable per install
     */
    @SerialName("deviceId")
    val deviceID: String
)

@Serializable
data class UnregisterDeviceResult (
    val removed: Boolean
)

@Serializable
data class UpsertScheduleRequest (
    val schedule: Schedule
)

@Serializable
data class UpsertScheduleResult (
    val nextOccurrences: List<OccurrenceWindow>,
    val schedule: Schedule
)

@Serializable
data class OccurrenceWindow (
    val endAt: OffsetDateTime,
    val startAt: OffsetDateTime
)

object OffsetDateTimeSerializer : KSerializer<OffsetDateTime> {
    override val descriptor: SerialDescriptor = PrimitiveSerialDescriptor("OffsetDateTime", PrimitiveKind.STRING)
    override fun deserialize(decoder: Decoder): OffsetDateTime = OffsetDateTime.parse(decoder.decodeString())
    override fun serialize(encoder: Encoder, value: OffsetDateTime) {
        encoder.encodeString(java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME.format(value))
    }
}
