import { Type } from 'typebox';
import { PathId, Timestamp } from '../../http/schemas.ts';

const Role = Type.Union([
  Type.Literal('owner'),
  Type.Literal('admin'),
  Type.Literal('developer'),
  Type.Literal('viewer'),
]);
const Email = Type.String({ minLength: 3, maxLength: 254 });
/** No policy here (the service says why a password is refused); only a bound on what is hashed. */
const Password = Type.String({ minLength: 1, maxLength: 1024 });
const Code = Type.String({ minLength: 1, maxLength: 64 });
const Token = Type.String({ minLength: 20, maxLength: 100 });

export const ReauthBody = Type.Object(
  { password: Password, code: Type.Optional(Code) },
  { additionalProperties: false },
);
export const SignInBody = Type.Object(
  { email: Email, password: Password, code: Type.Optional(Code) },
  { additionalProperties: false },
);
export const InvitationLookupBody = Type.Object({ token: Token }, { additionalProperties: false });
export const SignUpBody = Type.Object({ token: Token, password: Password }, { additionalProperties: false });
export const ConfirmMfaBody = Type.Object({ code: Code }, { additionalProperties: false });
export const ChangePasswordBody = Type.Object(
  { password: Password, code: Type.Optional(Code), new_password: Password },
  { additionalProperties: false },
);
export const ChangeEmailBody = Type.Object(
  { password: Password, code: Type.Optional(Code), new_email: Email },
  { additionalProperties: false },
);
export const InviteBody = Type.Object({ email: Email, role: Role }, { additionalProperties: false });
export const RoleBody = Type.Object({ role: Role }, { additionalProperties: false });
export const SettingsBody = Type.Object({ mfa_required: Type.Boolean() }, { additionalProperties: false });
export const MemberParams = Type.Object({ memberId: PathId });
export const InvitationParams = Type.Object({ invitationId: PathId });
export const SessionParams = Type.Object({ sessionId: PathId });

export const Account = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: Role,
  org_id: Type.String(),
  mfa_enabled: Type.Boolean(),
  mfa_required: Type.Boolean(),
  mfa_pending: Type.Boolean(),
  recovery_codes_left: Type.Integer(),
  session_id: Type.String(),
  session_expires_at: Timestamp,
  created_at: Timestamp,
});
export const SessionResponse = Type.Object({ csrf_token: Type.String(), account: Account });
export const InvitationDescription = Type.Object({
  email: Type.String(),
  role: Role,
  org_name: Type.String(),
  expires_at: Timestamp,
});
export const MfaSetup = Type.Object({ secret: Type.String(), otpauth_uri: Type.String() });
export const RecoveryCodes = Type.Object({
  mfa_enabled: Type.Optional(Type.Boolean()),
  recovery_codes: Type.Array(Type.String()),
});
export const SessionEntry = Type.Object({
  id: Type.String(),
  current: Type.Boolean(),
  user_agent: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  last_seen_at: Timestamp,
  expires_at: Timestamp,
});
export const Member = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: Role,
  mfa_enabled: Type.Boolean(),
  created_at: Timestamp,
});
export const Invitation = Type.Object({
  id: Type.String(),
  email: Type.String(),
  role: Role,
  invited_by: Type.Union([Type.String(), Type.Null()]),
  created_at: Timestamp,
  expires_at: Timestamp,
  url: Type.Optional(Type.String()),
});
export const Settings = Type.Object({ mfa_required: Type.Boolean() });
/** Small confirmations ({id, revoked: true}, {ended: 2}, …). */
export const Ack = Type.Object({}, { additionalProperties: true });
export const ChainStatus = Type.Object({
  ok: Type.Boolean(),
  entries: Type.Integer(),
  broken: Type.Optional(Type.Object({ id: Type.String(), seq: Type.Integer(), reason: Type.String() })),
});
