/**
 * User names: a letter or `_`, then letters (either case: CloudLab has capitals), digits, `_`, `.` or `-`. The platform
 * file's `hosts.user` pattern (config.schema.json) is this one, and a manifest `<login username>`
 * outside it is refused, so every user a manifest offers can be set as `hosts.user`.
 */
export const USER_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_.-]{0,31}$';
export const USER_NAME = new RegExp(USER_NAME_PATTERN);
/** The rule in words, for messages. */
export const USER_NAME_RULE = 'a letter or `_`, then letters, digits, `_`, `.` or `-`, at most 32 characters';
