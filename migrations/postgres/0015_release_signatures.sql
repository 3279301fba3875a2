-- The signature of each promoted release's payload (projected from `promotion.state`): the
-- signed document as `oc adm release new` writes it, and whether it was signed — by which
-- key, where the signature is in the signature store — or why signing failed. JSON of the
-- page model's `ReleaseSignature`; null until the promotion has published and checked its
-- payload, and for promotions that ran before signing existed.
alter table promotions add column release_signature text;
