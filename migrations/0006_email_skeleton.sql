-- The SHA-256 of the TR39 skeleton of each user's email, unique so that two addresses a
-- person cannot tell apart (Cyrillic "а" for Latin "a", ...) cannot be two accounts. SQL
-- cannot compute a skeleton, so the column is nullable (a unique constraint ignores NULLs)
-- and rows that exist before this migration get theirs from the backfill in
-- src/modules/auth/email-backfill.ts, which every `serve` and `user create` runs before
-- taking registrations.
ALTER TABLE "users" ADD COLUMN "email_skeleton_hash" text;--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_email_skeleton_hash_unique" UNIQUE("email_skeleton_hash");
