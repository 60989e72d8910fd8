// Generated from docs/api/openapi.json by `make contract` (quicktype). Do not edit.

// This file was generated from JSON Schema using quicktype, do not modify it directly.
// To parse the JSON, add this file to your project and do:
//
//   let bootstrapAccountRequest = try BootstrapAccountRequest(json)
//   let bootstrapAccountResult = try BootstrapAccountResult(json)
//   let callableError = try CallableError(json)
//   let deleteAccountRequest = try DeleteAccountRequest(json)
//   let deleteAccountResult = try DeleteAccountResult(json)
//   let deleteScheduleRequest = try DeleteScheduleRequest(json)
//   let deleteScheduleResult = try DeleteScheduleResult(json)
//   let deletedSession = try DeletedSession(json)
//   let device = try Device(json)
//   let errorBody = try ErrorBody(json)
//   let errorDetails = try ErrorDetails(json)
//   let exportAccountRequest = try ExportAccountRequest(json)
//   let exportAccountResult = try ExportAccountResult(json)
//   let exportPushLogEntry = try ExportPushLogEntry(json)
//   let exportPushPlan = try ExportPushPlan(json)
//   let exportSchedule = try ExportSchedule(json)
//   let exportSession = try ExportSession(json)
//   let exportSignIn = try ExportSignIn(json)
//   let focusSessionInput = try FocusSessionInput(json)
//   let focusSessionOutput = try FocusSessionOutput(json)
//   let listSchedulesRequest = try ListSchedulesRequest(json)
//   let listSchedulesResult = try ListSchedulesResult(json)
//   let mutation = try Mutation(json)
//   let occurrenceWindow = try OccurrenceWindow(json)
//   let registerDeviceRequest = try RegisterDeviceRequest(json)
//   let registerDeviceResult = try RegisterDeviceResult(json)
//   let rejection = try Rejection(json)
//   let schedule = try Schedule(json)
//   let syncFocusSessionsRequest = try SyncFocusSessionsRequest(json)
//   let syncFocusSessionsResult = try SyncFocusSessionsResult(json)
//   let unregisterDeviceRequest = try UnregisterDeviceRequest(json)
//   let unregisterDeviceResult = try UnregisterDeviceResult(json)
//   let upsertScheduleRequest = try UpsertScheduleRequest(json)
//   let upsertScheduleResult = try UpsertScheduleResult(json)
//   let userProfile = try UserProfile(json)

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

import Foundation

// MARK: - BootstrapAccountRequest
public struct BootstrapAccountRequest: Codable, Equatable {
    public let locale: String?
    public let timezone: String

    public enum CodingKeys: String, CodingKey {
        case locale = "locale"
        case timezone = "timezone"
    }

    public init(locale: String?, timezone: String) {
        self.locale = locale
        self.timezone = timezone
    }
}

// MARK: BootstrapAccountRequest convenience initializers and mutators

public extension BootstrapAccountRequest {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(BootstrapAccountRequest.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        locale: String?? = nil,
        timezone: String? = nil
    ) -> BootstrapAccountRequest {
        return BootstrapAccountRequest(
            locale: locale ?? self.locale,
            timezone: timezone ?? self.timezone
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - BootstrapAccountResult
public struct BootstrapAccountResult: Codable, Equatable {
    public let created: Bool
    public let user: UserProfile

    public enum CodingKeys: String, CodingKey {
        case created = "created"
        case user = "user"
    }

    public init(created: Bool, user: UserProfile) {
        self.created = created
        self.user = user
    }
}

// MARK: BootstrapAccountResult convenience initializers and mutators

public extension BootstrapAccountResult {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(BootstrapAccountResult.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        created: Bool? = nil,
        user: UserProfile? = nil
    ) -> BootstrapAccountResult {
        return BootstrapAccountResult(
            created: created ?? self.created,
            user: user ?? self.user
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// `user` in results: the profile as the apps see it.
// MARK: - UserProfile
public struct UserProfile: Codable, Equatable {
    public let createdAt: Date
    public let locale: String?
    public let timezone: String
    public let uid: String

    public enum CodingKeys: String, CodingKey {
        case createdAt = "createdAt"
        case locale = "locale"
        case timezone = "timezone"
        case uid = "uid"
    }

    public init(createdAt: Date, locale: String?, timezone: String, uid: String) {
        self.createdAt = createdAt
        self.locale = locale
        self.timezone = timezone
        self.uid = uid
    }
}

// MARK: UserProfile convenience initializers and mutators

public extension UserProfile {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(UserProfile.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        createdAt: Date? = nil,
        locale: String?? = nil,
        timezone: String? = nil,
        uid: String? = nil
    ) -> UserProfile {
        return UserProfile(
            createdAt: createdAt ?? self.createdAt,
            locale: locale ?? self.locale,
            timezone: timezone ?? self.timezone,
            uid: uid ?? self.uid
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// An error answer of any callable.
// MARK: - CallableError
public struct CallableError: Codable, Equatable {
    public let error: ErrorBody

    public enum CodingKeys: String, CodingKey {
        case error = "error"
    }

    public init(error: ErrorBody) {
        self.error = error
    }
}

// MARK: CallableError convenience initializers and mutators

public extension CallableError {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(CallableError.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        error: ErrorBody? = nil
    ) -> CallableError {
        return CallableError(
            error: error ?? self.error
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - ErrorBody
public struct ErrorBody: Codable, Equatable {
    public let details: ErrorDetails?
    /// safe to show; names the field for INVALID_ARGUMENT
    public let message: String
    /// the callable error code
    public let status: ErrorBodyStatus

    public enum CodingKeys: String, CodingKey {
        case details = "details"
        case message = "message"
        case status = "status"
    }

    public init(details: ErrorDetails?, message: String, status: ErrorBodyStatus) {
        self.details = details
        self.message = message
        self.status = status
    }
}

// MARK: ErrorBody convenience initializers and mutators

public extension ErrorBody {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ErrorBody.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        details: ErrorDetails?? = nil,
        message: String? = nil,
        status: ErrorBodyStatus? = nil
    ) -> ErrorBody {
        return ErrorBody(
            details: details ?? self.details,
            message: message ?? self.message,
            status: status ?? self.status
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// Machine-readable details; absent when there are none.
// MARK: - ErrorDetails
public struct ErrorDetails: Codable, Equatable {
    /// INVALID_ARGUMENT: the offending paths from `data` (up to ten)
    public let fields: [String]?
    /// `requires-recent-login`: how recent the sign-in must be, in seconds
    public let maxAuthAgeSeconds: Int?
    public let reason: String?
    /// RESOURCE_EXHAUSTED, UNAVAILABLE: how long to wait before retrying
    public let retryAfterSeconds: Int?

    public enum CodingKeys: String, CodingKey {
        case fields = "fields"
        case maxAuthAgeSeconds = "maxAuthAgeSeconds"
        case reason = "reason"
        case retryAfterSeconds = "retryAfterSeconds"
    }

    public init(fields: [String]?, maxAuthAgeSeconds: Int?, reason: String?, retryAfterSeconds: Int?) {
        self.fields = fields
        self.maxAuthAgeSeconds = maxAuthAgeSeconds
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }
}

// MARK: ErrorDetails convenience initializers and mutators

public extension ErrorDetails {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ErrorDetails.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        fields: [String]?? = nil,
        maxAuthAgeSeconds: Int?? = nil,
        reason: String?? = nil,
        retryAfterSeconds: Int?? = nil
    ) -> ErrorDetails {
        return ErrorDetails(
            fields: fields ?? self.fields,
            maxAuthAgeSeconds: maxAuthAgeSeconds ?? self.maxAuthAgeSeconds,
            reason: reason ?? self.reason,
            retryAfterSeconds: retryAfterSeconds ?? self.retryAfterSeconds
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

/// the callable error code
public enum ErrorBodyStatus: String, Codable, Equatable {
    case aborted = "ABORTED"
    case failedPrecondition = "FAILED_PRECONDITION"
    case invalidArgument = "INVALID_ARGUMENT"
    case notFound = "NOT_FOUND"
    case permissionDenied = "PERMISSION_DENIED"
    case resourceExhausted = "RESOURCE_EXHAUSTED"
    case statusINTERNAL = "INTERNAL"
    case unauthenticated = "UNAUTHENTICATED"
    case unavailable = "UNAVAILABLE"
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - DeleteAccountRequest
public struct DeleteAccountRequest: Codable, Equatable {
    public let confirm: Bool

    public enum CodingKeys: String, CodingKey {
        case confirm = "confirm"
    }

    public init(confirm: Bool) {
        self.confirm = confirm
    }
}

// MARK: DeleteAccountRequest convenience initializers and mutators

public extension DeleteAccountRequest {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(DeleteAccountRequest.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        confirm: Bool? = nil
    ) -> DeleteAccountRequest {
        return DeleteAccountRequest(
            confirm: confirm ?? self.confirm
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - DeleteAccountResult
public struct DeleteAccountResult: Codable, Equatable {
    public let deleted: Bool

    public enum CodingKeys: String, CodingKey {
        case deleted = "deleted"
    }

    public init(deleted: Bool) {
        self.deleted = deleted
    }
}

// MARK: DeleteAccountResult convenience initializers and mutators

public extension DeleteAccountResult {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(DeleteAccountResult.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        deleted: Bool? = nil
    ) -> DeleteAccountResult {
        return DeleteAccountResult(
            deleted: deleted ?? self.deleted
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - DeleteScheduleRequest
public struct DeleteScheduleRequest: Codable, Equatable {
    /// 1-64 [A-Za-z0-9_-]
    public let id: String

    public enum CodingKeys: String, CodingKey {
        case id = "id"
    }

    public init(id: String) {
        self.id = id
    }
}

// MARK: DeleteScheduleRequest convenience initializers and mutators

public extension DeleteScheduleRequest {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(DeleteScheduleRequest.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        id: String? = nil
    ) -> DeleteScheduleRequest {
        return DeleteScheduleRequest(
            id: id ?? self.id
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - DeleteScheduleResult
public struct DeleteScheduleResult: Codable, Equatable {
    public let deleted: Bool

    public enum CodingKeys: String, CodingKey {
        case deleted = "deleted"
    }

    public init(deleted: Bool) {
        self.deleted = deleted
    }
}

// MARK: DeleteScheduleResult convenience initializers and mutators

public extension DeleteScheduleResult {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(DeleteScheduleResult.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        deleted: Bool? = nil
    ) -> DeleteScheduleResult {
        return DeleteScheduleResult(
            deleted: deleted ?? self.deleted
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// A tombstone in `changes`: `{id, deleted: true, updatedAt}`.
// MARK: - DeletedSession
public struct DeletedSession: Codable, Equatable {
    public let deleted: Bool
    public let id: String
    public let updatedAt: Date

    public enum CodingKeys: String, CodingKey {
        case deleted = "deleted"
        case id = "id"
        case updatedAt = "updatedAt"
    }

    public init(deleted: Bool, id: String, updatedAt: Date) {
        self.deleted = deleted
        self.id = id
        self.updatedAt = updatedAt
    }
}

// MARK: DeletedSession convenience initializers and mutators

public extension DeletedSession {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(DeletedSession.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        deleted: Bool? = nil,
        id: String? = nil,
        updatedAt: Date? = nil
    ) -> DeletedSession {
        return DeletedSession(
            deleted: deleted ?? self.deleted,
            id: id ?? self.id,
            updatedAt: updatedAt ?? self.updatedAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - ExportAccountRequest
public struct ExportAccountRequest: Codable, Equatable {
    public let cursor: String?

    public enum CodingKeys: String, CodingKey {
        case cursor = "cursor"
    }

    public init(cursor: String?) {
        self.cursor = cursor
    }
}

// MARK: ExportAccountRequest convenience initializers and mutators

public extension ExportAccountRequest {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ExportAccountRequest.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        cursor: String?? = nil
    ) -> ExportAccountRequest {
        return ExportAccountRequest(
            cursor: cursor ?? self.cursor
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - ExportAccountResult
public struct ExportAccountResult: Codable, Equatable {
    public let cursor: String?
    public let devices: [Device]?
    public let generatedAt: Date
    public let hasMore: Bool
    public let pushLog: [ExportPushLogEntry]?
    public let pushPlans: [ExportPushPlan]?
    public let schedules: [ExportSchedule]?
    public let sessions: [ExportSession]
    public let signIn: ExportSignIn?
    public let user: UserProfile?

    public enum CodingKeys: String, CodingKey {
        case cursor = "cursor"
        case devices = "devices"
        case generatedAt = "generatedAt"
        case hasMore = "hasMore"
        case pushLog = "pushLog"
        case pushPlans = "pushPlans"
        case schedules = "schedules"
        case sessions = "sessions"
        case signIn = "signIn"
        case user = "user"
    }

    public init(cursor: String?, devices: [Device]?, generatedAt: Date, hasMore: Bool, pushLog: [ExportPushLogEntry]?, pushPlans: [ExportPushPlan]?, schedules: [ExportSchedule]?, sessions: [ExportSession], signIn: ExportSignIn?, user: UserProfile?) {
        self.cursor = cursor
        self.devices = devices
        self.generatedAt = generatedAt
        self.hasMore = hasMore
        self.pushLog = pushLog
        self.pushPlans = pushPlans
        self.schedules = schedules
        self.sessions = sessions
        self.signIn = signIn
        self.user = user
    }
}

// MARK: ExportAccountResult convenience initializers and mutators

public extension ExportAccountResult {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ExportAccountResult.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        cursor: String?? = nil,
        devices: [Device]?? = nil,
        generatedAt: Date? = nil,
        hasMore: Bool? = nil,
        pushLog: [ExportPushLogEntry]?? = nil,
        pushPlans: [ExportPushPlan]?? = nil,
        schedules: [ExportSchedule]?? = nil,
        sessions: [ExportSession]? = nil,
        signIn: ExportSignIn?? = nil,
        user: UserProfile?? = nil
    ) -> ExportAccountResult {
        return ExportAccountResult(
            cursor: cursor ?? self.cursor,
            devices: devices ?? self.devices,
            generatedAt: generatedAt ?? self.generatedAt,
            hasMore: hasMore ?? self.hasMore,
            pushLog: pushLog ?? self.pushLog,
            pushPlans: pushPlans ?? self.pushPlans,
            schedules: schedules ?? self.schedules,
            sessions: sessions ?? self.sessions,
            signIn: signIn ?? self.signIn,
            user: user ?? self.user
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// `Device` of the contract: what the apps see (never the FCM token).
// MARK: - Device
public struct Device: Codable, Equatable {
    public let appVersion: String?
    public let deviceID: String
    public let platform: Platform
    public let registeredAt: Date

    public enum CodingKeys: String, CodingKey {
        case appVersion = "appVersion"
        case deviceID = "deviceId"
        case platform = "platform"
        case registeredAt = "registeredAt"
    }

    public init(appVersion: String?, deviceID: String, platform: Platform, registeredAt: Date) {
        self.appVersion = appVersion
        self.deviceID = deviceID
        self.platform = platform
        self.registeredAt = registeredAt
    }
}

// MARK: Device convenience initializers and mutators

public extension Device {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(Device.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        appVersion: String?? = nil,
        deviceID: String? = nil,
        platform: Platform? = nil,
        registeredAt: Date? = nil
    ) -> Device {
        return Device(
            appVersion: appVersion ?? self.appVersion,
            deviceID: deviceID ?? self.deviceID,
            platform: platform ?? self.platform,
            registeredAt: registeredAt ?? self.registeredAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

public enum Platform: String, Codable, Equatable {
    case android = "android"
    case ios = "ios"
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// One silent push sent to one of the user's devices.
// MARK: - ExportPushLogEntry
public struct ExportPushLogEntry: Codable, Equatable {
    public let deviceID: String
    public let kind: String
    public let sentAt: Date

    public enum CodingKeys: String, CodingKey {
        case deviceID = "deviceId"
        case kind = "kind"
        case sentAt = "sentAt"
    }

    public init(deviceID: String, kind: String, sentAt: Date) {
        self.deviceID = deviceID
        self.kind = kind
        self.sentAt = sentAt
    }
}

// MARK: ExportPushLogEntry convenience initializers and mutators

public extension ExportPushLogEntry {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ExportPushLogEntry.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        deviceID: String? = nil,
        kind: String? = nil,
        sentAt: Date? = nil
    ) -> ExportPushLogEntry {
        return ExportPushLogEntry(
            deviceID: deviceID ?? self.deviceID,
            kind: kind ?? self.kind,
            sentAt: sentAt ?? self.sentAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// How far the silent pushes of one schedule are planned.
// MARK: - ExportPushPlan
public struct ExportPushPlan: Codable, Equatable {
    public let enabled: Bool
    public let plannedUntil: Date?
    public let scheduleID: String

    public enum CodingKeys: String, CodingKey {
        case enabled = "enabled"
        case plannedUntil = "plannedUntil"
        case scheduleID = "scheduleId"
    }

    public init(enabled: Bool, plannedUntil: Date?, scheduleID: String) {
        self.enabled = enabled
        self.plannedUntil = plannedUntil
        self.scheduleID = scheduleID
    }
}

// MARK: ExportPushPlan convenience initializers and mutators

public extension ExportPushPlan {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ExportPushPlan.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        enabled: Bool? = nil,
        plannedUntil: Date?? = nil,
        scheduleID: String? = nil
    ) -> ExportPushPlan {
        return ExportPushPlan(
            enabled: enabled ?? self.enabled,
            plannedUntil: plannedUntil ?? self.plannedUntil,
            scheduleID: scheduleID ?? self.scheduleID
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// A `Schedule` of the contract as stored.
// MARK: - ExportSchedule
public struct ExportSchedule: Codable, Equatable {
    public let blockedApps: [String]
    public let days: [Day]
    public let enabled: Bool
    public let end: String
    public let id: String
    public let name: String
    public let start: String
    public let timezone: String
    public let updatedAt: Date

    public enum CodingKeys: String, CodingKey {
        case blockedApps = "blockedApps"
        case days = "days"
        case enabled = "enabled"
        case end = "end"
        case id = "id"
        case name = "name"
        case start = "start"
        case timezone = "timezone"
        case updatedAt = "updatedAt"
    }

    public init(blockedApps: [String], days: [Day], enabled: Bool, end: String, id: String, name: String, start: String, timezone: String, updatedAt: Date) {
        self.blockedApps = blockedApps
        self.days = days
        self.enabled = enabled
        self.end = end
        self.id = id
        self.name = name
        self.start = start
        self.timezone = timezone
        self.updatedAt = updatedAt
    }
}

// MARK: ExportSchedule convenience initializers and mutators

public extension ExportSchedule {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ExportSchedule.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        blockedApps: [String]? = nil,
        days: [Day]? = nil,
        enabled: Bool? = nil,
        end: String? = nil,
        id: String? = nil,
        name: String? = nil,
        start: String? = nil,
        timezone: String? = nil,
        updatedAt: Date? = nil
    ) -> ExportSchedule {
        return ExportSchedule(
            blockedApps: blockedApps ?? self.blockedApps,
            days: days ?? self.days,
            enabled: enabled ?? self.enabled,
            end: end ?? self.end,
            id: id ?? self.id,
            name: name ?? self.name,
            start: start ?? self.start,
            timezone: timezone ?? self.timezone,
            updatedAt: updatedAt ?? self.updatedAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

public enum Day: String, Codable, Equatable {
    case fri = "fri"
    case mon = "mon"
    case sat = "sat"
    case sun = "sun"
    case thu = "thu"
    case tue = "tue"
    case wed = "wed"
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// A `FocusSession` of the contract as stored.
// MARK: - ExportSession
public struct ExportSession: Codable, Equatable {
    public let blockedApps: [String]
    public let deviceID: String
    public let endedAt: Date?
    public let id: String
    public let label: String?
    public let plannedEndAt: Date?
    public let scheduleID: String?
    public let startedAt: Date
    public let status: ExportSessionStatus
    public let updatedAt: Date

    public enum CodingKeys: String, CodingKey {
        case blockedApps = "blockedApps"
        case deviceID = "deviceId"
        case endedAt = "endedAt"
        case id = "id"
        case label = "label"
        case plannedEndAt = "plannedEndAt"
        case scheduleID = "scheduleId"
        case startedAt = "startedAt"
        case status = "status"
        case updatedAt = "updatedAt"
    }

    public init(blockedApps: [String], deviceID: String, endedAt: Date?, id: String, label: String?, plannedEndAt: Date?, scheduleID: String?, startedAt: Date, status: ExportSessionStatus, updatedAt: Date) {
        self.blockedApps = blockedApps
        self.deviceID = deviceID
        self.endedAt = endedAt
        self.id = id
        self.label = label
        self.plannedEndAt = plannedEndAt
        self.scheduleID = scheduleID
        self.startedAt = startedAt
        self.status = status
        self.updatedAt = updatedAt
    }
}

// MARK: ExportSession convenience initializers and mutators

public extension ExportSession {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ExportSession.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        blockedApps: [String]? = nil,
        deviceID: String? = nil,
        endedAt: Date?? = nil,
        id: String? = nil,
        label: String?? = nil,
        plannedEndAt: Date?? = nil,
        scheduleID: String?? = nil,
        startedAt: Date? = nil,
        status: ExportSessionStatus? = nil,
        updatedAt: Date? = nil
    ) -> ExportSession {
        return ExportSession(
            blockedApps: blockedApps ?? self.blockedApps,
            deviceID: deviceID ?? self.deviceID,
            endedAt: endedAt ?? self.endedAt,
            id: id ?? self.id,
            label: label ?? self.label,
            plannedEndAt: plannedEndAt ?? self.plannedEndAt,
            scheduleID: scheduleID ?? self.scheduleID,
            startedAt: startedAt ?? self.startedAt,
            status: status ?? self.status,
            updatedAt: updatedAt ?? self.updatedAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

public enum ExportSessionStatus: String, Codable, Equatable {
    case abandoned = "abandoned"
    case completed = "completed"
    case running = "running"
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// The user's record in Firebase Auth.
// MARK: - ExportSignIn
public struct ExportSignIn: Codable, Equatable {
    public let createdAt: Date?
    public let displayName: String?
    public let email: String?
    public let emailVerified: Bool
    public let lastSignInAt: Date?
    public let phoneNumber: String?
    public let providers: [String]

    public enum CodingKeys: String, CodingKey {
        case createdAt = "createdAt"
        case displayName = "displayName"
        case email = "email"
        case emailVerified = "emailVerified"
        case lastSignInAt = "lastSignInAt"
        case phoneNumber = "phoneNumber"
        case providers = "providers"
    }

    public init(createdAt: Date?, displayName: String?, email: String?, emailVerified: Bool, lastSignInAt: Date?, phoneNumber: String?, providers: [String]) {
        self.createdAt = createdAt
        self.displayName = displayName
        self.email = email
        self.emailVerified = emailVerified
        self.lastSignInAt = lastSignInAt
        self.phoneNumber = phoneNumber
        self.providers = providers
    }
}

// MARK: ExportSignIn convenience initializers and mutators

public extension ExportSignIn {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ExportSignIn.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        createdAt: Date?? = nil,
        displayName: String?? = nil,
        email: String?? = nil,
        emailVerified: Bool? = nil,
        lastSignInAt: Date?? = nil,
        phoneNumber: String?? = nil,
        providers: [String]? = nil
    ) -> ExportSignIn {
        return ExportSignIn(
            createdAt: createdAt ?? self.createdAt,
            displayName: displayName ?? self.displayName,
            email: email ?? self.email,
            emailVerified: emailVerified ?? self.emailVerified,
            lastSignInAt: lastSignInAt ?? self.lastSignInAt,
            phoneNumber: phoneNumber ?? self.phoneNumber,
            providers: providers ?? self.providers
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// `FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted.
// MARK: - FocusSessionOutput
public struct FocusSessionOutput: Codable, Equatable {
    public let blockedApps: [String]
    /// device of the last edit: the tie-breaker
    public let deviceID: String
    public let endedAt: Date?
    /// 1-64 [A-Za-z0-9_-]
    public let id: String
    public let label: String?
    public let plannedEndAt: Date?
    public let scheduleID: String?
    public let startedAt: Date
    public let status: ExportSessionStatus
    /// client clock of the last edit: the conflict key
    public let updatedAt: Date

    public enum CodingKeys: String, CodingKey {
        case blockedApps = "blockedApps"
        case deviceID = "deviceId"
        case endedAt = "endedAt"
        case id = "id"
        case label = "label"
        case plannedEndAt = "plannedEndAt"
        case scheduleID = "scheduleId"
        case startedAt = "startedAt"
        case status = "status"
        case updatedAt = "updatedAt"
    }

    public init(blockedApps: [String], deviceID: String, endedAt: Date?, id: String, label: String?, plannedEndAt: Date?, scheduleID: String?, startedAt: Date, status: ExportSessionStatus, updatedAt: Date) {
        self.blockedApps = blockedApps
        self.deviceID = deviceID
        self.endedAt = endedAt
        self.id = id
        self.label = label
        self.plannedEndAt = plannedEndAt
        self.scheduleID = scheduleID
        self.startedAt = startedAt
        self.status = status
        self.updatedAt = updatedAt
    }
}

// MARK: FocusSessionOutput convenience initializers and mutators

public extension FocusSessionOutput {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(FocusSessionOutput.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        blockedApps: [String]? = nil,
        deviceID: String? = nil,
        endedAt: Date?? = nil,
        id: String? = nil,
        label: String?? = nil,
        plannedEndAt: Date?? = nil,
        scheduleID: String?? = nil,
        startedAt: Date? = nil,
        status: ExportSessionStatus? = nil,
        updatedAt: Date? = nil
    ) -> FocusSessionOutput {
        return FocusSessionOutput(
            blockedApps: blockedApps ?? self.blockedApps,
            deviceID: deviceID ?? self.deviceID,
            endedAt: endedAt ?? self.endedAt,
            id: id ?? self.id,
            label: label ?? self.label,
            plannedEndAt: plannedEndAt ?? self.plannedEndAt,
            scheduleID: scheduleID ?? self.scheduleID,
            startedAt: startedAt ?? self.startedAt,
            status: status ?? self.status,
            updatedAt: updatedAt ?? self.updatedAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - ListSchedulesRequest
public struct ListSchedulesRequest: Codable, Equatable {

    public init() {
    }
}

// MARK: ListSchedulesRequest convenience initializers and mutators

public extension ListSchedulesRequest {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ListSchedulesRequest.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
    ) -> ListSchedulesRequest {
        return ListSchedulesRequest(
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - ListSchedulesResult
public struct ListSchedulesResult: Codable, Equatable {
    public let schedules: [Schedule]

    public enum CodingKeys: String, CodingKey {
        case schedules = "schedules"
    }

    public init(schedules: [Schedule]) {
        self.schedules = schedules
    }
}

// MARK: ListSchedulesResult convenience initializers and mutators

public extension ListSchedulesResult {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ListSchedulesResult.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        schedules: [Schedule]? = nil
    ) -> ListSchedulesResult {
        return ListSchedulesResult(
            schedules: schedules ?? self.schedules
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// `Schedule` of the contract: a recurring focus block.
// MARK: - Schedule
public struct Schedule: Codable, Equatable {
    public let blockedApps: [String]
    public let days: [Day]
    public let enabled: Bool
    /// HH:MM, 24-hour
    public let end: String
    /// 1-64 [A-Za-z0-9_-]
    public let id: String
    public let name: String
    /// HH:MM, 24-hour
    public let start: String
    public let timezone: String
    public let updatedAt: Date

    public enum CodingKeys: String, CodingKey {
        case blockedApps = "blockedApps"
        case days = "days"
        case enabled = "enabled"
        case end = "end"
        case id = "id"
        case name = "name"
        case start = "start"
        case timezone = "timezone"
        case updatedAt = "updatedAt"
    }

    public init(blockedApps: [String], days: [Day], enabled: Bool, end: String, id: String, name: String, start: String, timezone: String, updatedAt: Date) {
        self.blockedApps = blockedApps
        self.days = days
        self.enabled = enabled
        self.end = end
        self.id = id
        self.name = name
        self.start = start
        self.timezone = timezone
        self.updatedAt = updatedAt
    }
}

// MARK: Schedule convenience initializers and mutators

public extension Schedule {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(Schedule.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        blockedApps: [String]? = nil,
        days: [Day]? = nil,
        enabled: Bool? = nil,
        end: String? = nil,
        id: String? = nil,
        name: String? = nil,
        start: String? = nil,
        timezone: String? = nil,
        updatedAt: Date? = nil
    ) -> Schedule {
        return Schedule(
            blockedApps: blockedApps ?? self.blockedApps,
            days: days ?? self.days,
            enabled: enabled ?? self.enabled,
            end: end ?? self.end,
            id: id ?? self.id,
            name: name ?? self.name,
            start: start ?? self.start,
            timezone: timezone ?? self.timezone,
            updatedAt: updatedAt ?? self.updatedAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - RegisterDeviceRequest
public struct RegisterDeviceRequest: Codable, Equatable {
    public let appVersion: String?
    /// stable per install
    public let deviceID: String
    /// FCM registration token (printable ASCII)
    public let fcmToken: String
    public let platform: Platform

    public enum CodingKeys: String, CodingKey {
        case appVersion = "appVersion"
        case deviceID = "deviceId"
        case fcmToken = "fcmToken"
        case platform = "platform"
    }

    public init(appVersion: String?, deviceID: String, fcmToken: String, platform: Platform) {
        self.appVersion = appVersion
        self.deviceID = deviceID
        self.fcmToken = fcmToken
        self.platform = platform
    }
}

// MARK: RegisterDeviceRequest convenience initializers and mutators

public extension RegisterDeviceRequest {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(RegisterDeviceRequest.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        appVersion: String?? = nil,
        deviceID: String? = nil,
        fcmToken: String? = nil,
        platform: Platform? = nil
    ) -> RegisterDeviceRequest {
        return RegisterDeviceRequest(
            appVersion: appVersion ?? self.appVersion,
            deviceID: deviceID ?? self.deviceID,
            fcmToken: fcmToken ?? self.fcmToken,
            platform: platform ?? self.platform
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - RegisterDeviceResult
public struct RegisterDeviceResult: Codable, Equatable {
    public let device: Device

    public enum CodingKeys: String, CodingKey {
        case device = "device"
    }

    public init(device: Device) {
        self.device = device
    }
}

// MARK: RegisterDeviceResult convenience initializers and mutators

public extension RegisterDeviceResult {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(RegisterDeviceResult.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        device: Device? = nil
    ) -> RegisterDeviceResult {
        return RegisterDeviceResult(
            device: device ?? self.device
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - SyncFocusSessionsRequest
public struct SyncFocusSessionsRequest: Codable, Equatable {
    public let cursor: String?
    /// stable per install
    public let deviceID: String
    public let limit: Int?
    public let mutations: [Mutation]

    public enum CodingKeys: String, CodingKey {
        case cursor = "cursor"
        case deviceID = "deviceId"
        case limit = "limit"
        case mutations = "mutations"
    }

    public init(cursor: String?, deviceID: String, limit: Int?, mutations: [Mutation]) {
        self.cursor = cursor
        self.deviceID = deviceID
        self.limit = limit
        self.mutations = mutations
    }
}

// MARK: SyncFocusSessionsRequest convenience initializers and mutators

public extension SyncFocusSessionsRequest {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(SyncFocusSessionsRequest.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        cursor: String?? = nil,
        deviceID: String? = nil,
        limit: Int?? = nil,
        mutations: [Mutation]? = nil
    ) -> SyncFocusSessionsRequest {
        return SyncFocusSessionsRequest(
            cursor: cursor ?? self.cursor,
            deviceID: deviceID ?? self.deviceID,
            limit: limit ?? self.limit,
            mutations: mutations ?? self.mutations
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// `{mutationId, op: "upsert", session}` or `{mutationId, op: "delete", id, updatedAt}`.
// MARK: - Mutation
public struct Mutation: Codable, Equatable {
    public let id: String?
    public let mutationID: String
    public let op: Op
    public let session: FocusSessionInput?
    public let updatedAt: Date?

    public enum CodingKeys: String, CodingKey {
        case id = "id"
        case mutationID = "mutationId"
        case op = "op"
        case session = "session"
        case updatedAt = "updatedAt"
    }

    public init(id: String?, mutationID: String, op: Op, session: FocusSessionInput?, updatedAt: Date?) {
        self.id = id
        self.mutationID = mutationID
        self.op = op
        self.session = session
        self.updatedAt = updatedAt
    }
}

// MARK: Mutation convenience initializers and mutators

public extension Mutation {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(Mutation.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        id: String?? = nil,
        mutationID: String? = nil,
        op: Op? = nil,
        session: FocusSessionInput?? = nil,
        updatedAt: Date?? = nil
    ) -> Mutation {
        return Mutation(
            id: id ?? self.id,
            mutationID: mutationID ?? self.mutationID,
            op: op ?? self.op,
            session: session ?? self.session,
            updatedAt: updatedAt ?? self.updatedAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

public enum Op: String, Codable, Equatable {
    case delete = "delete"
    case upsert = "upsert"
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// `FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted.
// MARK: - FocusSessionInput
public struct FocusSessionInput: Codable, Equatable {
    public let blockedApps: [String]?
    /// device of the last edit: the tie-breaker
    public let deviceID: String
    public let endedAt: Date?
    /// 1-64 [A-Za-z0-9_-]
    public let id: String
    public let label: String?
    public let plannedEndAt: Date?
    public let scheduleID: String?
    public let startedAt: Date
    public let status: ExportSessionStatus
    /// client clock of the last edit: the conflict key
    public let updatedAt: Date

    public enum CodingKeys: String, CodingKey {
        case blockedApps = "blockedApps"
        case deviceID = "deviceId"
        case endedAt = "endedAt"
        case id = "id"
        case label = "label"
        case plannedEndAt = "plannedEndAt"
        case scheduleID = "scheduleId"
        case startedAt = "startedAt"
        case status = "status"
        case updatedAt = "updatedAt"
    }

    public init(blockedApps: [String]?, deviceID: String, endedAt: Date?, id: String, label: String?, plannedEndAt: Date?, scheduleID: String?, startedAt: Date, status: ExportSessionStatus, updatedAt: Date) {
        self.blockedApps = blockedApps
        self.deviceID = deviceID
        self.endedAt = endedAt
        self.id = id
        self.label = label
        self.plannedEndAt = plannedEndAt
        self.scheduleID = scheduleID
        self.startedAt = startedAt
        self.status = status
        self.updatedAt = updatedAt
    }
}

// MARK: FocusSessionInput convenience initializers and mutators

public extension FocusSessionInput {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(FocusSessionInput.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        blockedApps: [String]?? = nil,
        deviceID: String? = nil,
        endedAt: Date?? = nil,
        id: String? = nil,
        label: String?? = nil,
        plannedEndAt: Date?? = nil,
        scheduleID: String?? = nil,
        startedAt: Date? = nil,
        status: ExportSessionStatus? = nil,
        updatedAt: Date? = nil
    ) -> FocusSessionInput {
        return FocusSessionInput(
            blockedApps: blockedApps ?? self.blockedApps,
            deviceID: deviceID ?? self.deviceID,
            endedAt: endedAt ?? self.endedAt,
            id: id ?? self.id,
            label: label ?? self.label,
            plannedEndAt: plannedEndAt ?? self.plannedEndAt,
            scheduleID: scheduleID ?? self.scheduleID,
            startedAt: startedAt ?? self.startedAt,
            status: status ?? self.status,
            updatedAt: updatedAt ?? self.updatedAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - SyncFocusSessionsResult
public struct SyncFocusSessionsResult: Codable, Equatable {
    public let applied: [String]
    public let changes: [ChangeElement]
    public let cursor: String
    public let hasMore: Bool
    public let rejected: [Rejection]

    public enum CodingKeys: String, CodingKey {
        case applied = "applied"
        case changes = "changes"
        case cursor = "cursor"
        case hasMore = "hasMore"
        case rejected = "rejected"
    }

    public init(applied: [String], changes: [ChangeElement], cursor: String, hasMore: Bool, rejected: [Rejection]) {
        self.applied = applied
        self.changes = changes
        self.cursor = cursor
        self.hasMore = hasMore
        self.rejected = rejected
    }
}

// MARK: SyncFocusSessionsResult convenience initializers and mutators

public extension SyncFocusSessionsResult {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(SyncFocusSessionsResult.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        applied: [String]? = nil,
        changes: [ChangeElement]? = nil,
        cursor: String? = nil,
        hasMore: Bool? = nil,
        rejected: [Rejection]? = nil
    ) -> SyncFocusSessionsResult {
        return SyncFocusSessionsResult(
            applied: applied ?? self.applied,
            changes: changes ?? self.changes,
            cursor: cursor ?? self.cursor,
            hasMore: hasMore ?? self.hasMore,
            rejected: rejected ?? self.rejected
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

/// `FocusSession` of the contract. Nullable fields and `blockedApps` may be omitted.
///
/// A tombstone in `changes`: `{id, deleted: true, updatedAt}`.
// MARK: - ChangeElement
public struct ChangeElement: Codable, Equatable {
    public let blockedApps: [String]?
    /// device of the last edit: the tie-breaker
    public let deviceID: String?
    public let endedAt: Date?
    /// 1-64 [A-Za-z0-9_-]
    public let id: String
    public let label: String?
    public let plannedEndAt: Date?
    public let scheduleID: String?
    public let startedAt: Date?
    public let status: ExportSessionStatus?
    /// client clock of the last edit: the conflict key
    public let updatedAt: Date
    public let deleted: Bool?

    public enum CodingKeys: String, CodingKey {
        case blockedApps = "blockedApps"
        case deviceID = "deviceId"
        case endedAt = "endedAt"
        case id = "id"
        case label = "label"
        case plannedEndAt = "plannedEndAt"
        case scheduleID = "scheduleId"
        case startedAt = "startedAt"
        case status = "status"
        case updatedAt = "updatedAt"
        case deleted = "deleted"
    }

    public init(blockedApps: [String]?, deviceID: String?, endedAt: Date?, id: String, label: String?, plannedEndAt: Date?, scheduleID: String?, startedAt: Date?, status: ExportSessionStatus?, updatedAt: Date, deleted: Bool?) {
        self.blockedApps = blockedApps
        self.deviceID = deviceID
        self.endedAt = endedAt
        self.id = id
        self.label = label
        self.plannedEndAt = plannedEndAt
        self.scheduleID = scheduleID
        self.startedAt = startedAt
        self.status = status
        self.updatedAt = updatedAt
        self.deleted = deleted
    }
}

// MARK: ChangeElement convenience initializers and mutators

public extension ChangeElement {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(ChangeElement.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        blockedApps: [String]?? = nil,
        deviceID: String?? = nil,
        endedAt: Date?? = nil,
        id: String? = nil,
        label: String?? = nil,
        plannedEndAt: Date?? = nil,
        scheduleID: String?? = nil,
        startedAt: Date?? = nil,
        status: ExportSessionStatus?? = nil,
        updatedAt: Date? = nil,
        deleted: Bool?? = nil
    ) -> ChangeElement {
        return ChangeElement(
            blockedApps: blockedApps ?? self.blockedApps,
            deviceID: deviceID ?? self.deviceID,
            endedAt: endedAt ?? self.endedAt,
            id: id ?? self.id,
            label: label ?? self.label,
            plannedEndAt: plannedEndAt ?? self.plannedEndAt,
            scheduleID: scheduleID ?? self.scheduleID,
            startedAt: startedAt ?? self.startedAt,
            status: status ?? self.status,
            updatedAt: updatedAt ?? self.updatedAt,
            deleted: deleted ?? self.deleted
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - Rejection
public struct Rejection: Codable, Equatable {
    /// Known values: invalid-argument; more may come, and for one it does not know the app drops
    /// the mutation, whatever its code.
    public let code: String
    public let message: String
    public let mutationID: String

    public enum CodingKeys: String, CodingKey {
        case code = "code"
        case message = "message"
        case mutationID = "mutationId"
    }

    public init(code: String, message: String, mutationID: String) {
        self.code = code
        self.message = message
        self.mutationID = mutationID
    }
}

// MARK: Rejection convenience initializers and mutators

public extension Rejection {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(Rejection.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        code: String? = nil,
        message: String? = nil,
        mutationID: String? = nil
    ) -> Rejection {
        return Rejection(
            code: code ?? self.code,
            message: message ?? self.message,
            mutationID: mutationID ?? self.mutationID
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - UnregisterDeviceRequest
public struct UnregisterDeviceRequest: Codable, Equatable {
    /// stable per install
    public let deviceID: String

    public enum CodingKeys: String, CodingKey {
        case deviceID = "deviceId"
    }

    public init(deviceID: String) {
        self.deviceID = deviceID
    }
}

// MARK: UnregisterDeviceRequest convenience initializers and mutators

public extension UnregisterDeviceRequest {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(UnregisterDeviceRequest.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        deviceID: String? = nil
    ) -> UnregisterDeviceRequest {
        return UnregisterDeviceRequest(
            deviceID: deviceID ?? self.deviceID
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - UnregisterDeviceResult
public struct UnregisterDeviceResult: Codable, Equatable {
    public let removed: Bool

    public enum CodingKeys: String, CodingKey {
        case removed = "removed"
    }

    public init(removed: Bool) {
        self.removed = removed
    }
}

// MARK: UnregisterDeviceResult convenience initializers and mutators

public extension UnregisterDeviceResult {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(UnregisterDeviceResult.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        removed: Bool? = nil
    ) -> UnregisterDeviceResult {
        return UnregisterDeviceResult(
            removed: removed ?? self.removed
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - UpsertScheduleRequest
public struct UpsertScheduleRequest: Codable, Equatable {
    public let schedule: Schedule

    public enum CodingKeys: String, CodingKey {
        case schedule = "schedule"
    }

    public init(schedule: Schedule) {
        self.schedule = schedule
    }
}

// MARK: UpsertScheduleRequest convenience initializers and mutators

public extension UpsertScheduleRequest {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(UpsertScheduleRequest.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        schedule: Schedule? = nil
    ) -> UpsertScheduleRequest {
        return UpsertScheduleRequest(
            schedule: schedule ?? self.schedule
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - UpsertScheduleResult
public struct UpsertScheduleResult: Codable, Equatable {
    public let nextOccurrences: [OccurrenceWindow]
    public let schedule: Schedule

    public enum CodingKeys: String, CodingKey {
        case nextOccurrences = "nextOccurrences"
        case schedule = "schedule"
    }

    public init(nextOccurrences: [OccurrenceWindow], schedule: Schedule) {
        self.nextOccurrences = nextOccurrences
        self.schedule = schedule
    }
}

// MARK: UpsertScheduleResult convenience initializers and mutators

public extension UpsertScheduleResult {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(UpsertScheduleResult.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        nextOccurrences: [OccurrenceWindow]? = nil,
        schedule: Schedule? = nil
    ) -> UpsertScheduleResult {
        return UpsertScheduleResult(
            nextOccurrences: nextOccurrences ?? self.nextOccurrences,
            schedule: schedule ?? self.schedule
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

//
// Hashable or Equatable:
// The compiler will not be able to synthesize the implementation of Hashable or Equatable
// for types that require the use of JSONAny, nor will the implementation of Hashable be
// synthesized for types that have collections (such as arrays or dictionaries).

// MARK: - OccurrenceWindow
public struct OccurrenceWindow: Codable, Equatable {
    public let endAt: Date
    public let startAt: Date

    public enum CodingKeys: String, CodingKey {
        case endAt = "endAt"
        case startAt = "startAt"
    }

    public init(endAt: Date, startAt: Date) {
        self.endAt = endAt
        self.startAt = startAt
    }
}

// MARK: OccurrenceWindow convenience initializers and mutators

public extension OccurrenceWindow {
    init(data: Data) throws {
        self = try newJSONDecoder().decode(OccurrenceWindow.self, from: data)
    }

    init(_ json: String, using encoding: String.Encoding = .utf8) throws {
        guard let data = json.data(using: encoding) else {
            throw NSError(domain: "JSONDecoding", code: 0, userInfo: nil)
        }
        try self.init(data: data)
    }

    init(fromURL url: URL) throws {
        try self.init(data: try Data(contentsOf: url))
    }

    func with(
        endAt: Date? = nil,
        startAt: Date? = nil
    ) -> OccurrenceWindow {
        return OccurrenceWindow(
            endAt: endAt ?? self.endAt,
            startAt: startAt ?? self.startAt
        )
    }

    func jsonData() throws -> Data {
        return try newJSONEncoder().encode(self)
    }

    func jsonString(encoding: String.Encoding = .utf8) throws -> String? {
        return String(data: try self.jsonData(), encoding: encoding)
    }
}

// MARK: - Helper functions for creating encoders and decoders

func newJSONDecoder() -> JSONDecoder {
    let decoder = JSONDecoder()
    if #available(iOS 10.0, OSX 10.12, tvOS 10.0, watchOS 3.0, *) {
        decoder.dateDecodingStrategy = .iso8601
    }
    return decoder
}

func newJSONEncoder() -> JSONEncoder {
    let encoder = JSONEncoder()
    if #available(iOS 10.0, OSX 10.12, tvOS 10.0, watchOS 3.0, *) {
        encoder.dateEncodingStrategy = .iso8601
    }
    return encoder
}
