CREATE TABLE "poll_option_counts" (
	"poll_id" uuid NOT NULL,
	"option" integer NOT NULL,
	"votes" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "poll_option_counts_poll_id_option_pk" PRIMARY KEY("poll_id","option")
);
--> statement-breakpoint
CREATE TABLE "poll_vote_dead_letters" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"log_id" bigint NOT NULL,
	"entry" jsonb NOT NULL,
	"reason" text NOT NULL,
	"deliveries" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "poll_vote_log" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"poll_id" uuid,
	"user_id" uuid,
	"entry" jsonb NOT NULL,
	"consumer" text,
	"delivered_at" timestamp with time zone,
	"deliveries" integer DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "poll_votes" (
	"vote_id" uuid PRIMARY KEY NOT NULL,
	"poll_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"option" integer NOT NULL,
	"status" text NOT NULL,
	"request_id" text NOT NULL,
	"accepted_at" timestamp with time zone NOT NULL,
	"applied_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "poll_votes_status_check" CHECK ("poll_votes"."status" in ('applied', 'rejected'))
);
--> statement-breakpoint
CREATE TABLE "polls" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"owner_id" uuid NOT NULL,
	"question" text NOT NULL,
	"options" jsonb NOT NULL,
	"closes_at" timestamp with time zone,
	"closed_at" timestamp with time zone,
	"rejected_votes" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "poll_option_counts" ADD CONSTRAINT "poll_option_counts_poll_id_polls_id_fk" FOREIGN KEY ("poll_id") REFERENCES "public"."polls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "poll_votes" ADD CONSTRAINT "poll_votes_poll_id_polls_id_fk" FOREIGN KEY ("poll_id") REFERENCES "public"."polls"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "poll_votes" ADD CONSTRAINT "poll_votes_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "polls" ADD CONSTRAINT "polls_owner_id_users_id_fk" FOREIGN KEY ("owner_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "poll_vote_log_poll_user_key" ON "poll_vote_log" USING btree ("poll_id","user_id");--> statement-breakpoint
CREATE INDEX "poll_vote_log_consumer_idx" ON "poll_vote_log" USING btree ("consumer","id");--> statement-breakpoint
CREATE UNIQUE INDEX "poll_votes_poll_user_key" ON "poll_votes" USING btree ("poll_id","user_id");--> statement-breakpoint
CREATE INDEX "polls_owner_created_idx" ON "polls" USING btree ("owner_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST);