CREATE TABLE "alert_history" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"rule" text NOT NULL,
	"labels" jsonb NOT NULL,
	"annotations" jsonb NOT NULL,
	"state" text NOT NULL,
	"value" double precision,
	"active_at" timestamp with time zone NOT NULL,
	"at" timestamp with time zone NOT NULL,
	CONSTRAINT "alert_history_state_check" CHECK ("alert_history"."state" in ('pending', 'firing', 'resolved', 'inactive'))
);
--> statement-breakpoint
CREATE TABLE "alert_leader" (
	"id" integer PRIMARY KEY NOT NULL,
	"holder" text NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	CONSTRAINT "alert_leader_single_row" CHECK ("alert_leader"."id" = 1)
);
--> statement-breakpoint
CREATE TABLE "alert_notifications" (
	"group_key" text PRIMARY KEY NOT NULL,
	"last_sent_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alert_rule_status" (
	"rule" text PRIMARY KEY NOT NULL,
	"state" text NOT NULL,
	"evaluated_at" timestamp with time zone NOT NULL,
	"duration_ms" double precision NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "alert_silences" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"matchers" jsonb NOT NULL,
	"comment" text NOT NULL,
	"created_by" uuid,
	"starts_at" timestamp with time zone DEFAULT now() NOT NULL,
	"ends_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "alert_states" (
	"rule" text NOT NULL,
	"fingerprint" text NOT NULL,
	"labels" jsonb NOT NULL,
	"annotations" jsonb NOT NULL,
	"state" text NOT NULL,
	"value" double precision,
	"active_at" timestamp with time zone NOT NULL,
	"fired_at" timestamp with time zone,
	"resolved_at" timestamp with time zone,
	"keep_firing_since" timestamp with time zone,
	CONSTRAINT "alert_states_rule_fingerprint_pk" PRIMARY KEY("rule","fingerprint")
);
--> statement-breakpoint
CREATE INDEX "alert_history_at_idx" ON "alert_history" USING btree ("at","id");--> statement-breakpoint
CREATE INDEX "alert_silences_ends_at_idx" ON "alert_silences" USING btree ("ends_at");