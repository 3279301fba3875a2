-- Each target's webhook gets a signing secret: notices carry the HMAC-SHA256 of their body
-- with it, so receivers can tell them from anyone else's. A new secret is made each time
-- an admin sets the webhook; webhooks set before this have none (their notices go unsigned
-- until the webhook is set again).
alter table promotion_targets add column webhook_secret text;
