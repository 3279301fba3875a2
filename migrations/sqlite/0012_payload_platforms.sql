-- Multi-arch payloads: every platform image of a read payload index and the component image
-- each platform's own `image-references` names. `primary_platform` is the platform whose
-- files and labels `payloads` and `payload_components` keep (`linux/amd64` when the index
-- has it).
alter table payloads add column primary_platform text not null default 'linux/amd64';

create table payload_component_platforms (
    payload_digest text not null references payloads (digest),
    platform text not null,
    name text not null,
    image_digest text not null,
    primary key (payload_digest, platform, name)
);
create index payload_component_platforms_by_image on payload_component_platforms (image_digest);

-- payloads read before: a single image keeps its own platform, an index its linux/amd64
update payloads
set primary_platform = replace(replace(platforms, '["', ''), '"]', '')
where platforms like '["%"]' and platforms not like '%,%' and platforms not like '%linux/amd64%';

insert into payload_component_platforms (payload_digest, platform, name, image_digest)
select pc.payload_digest, p.primary_platform, pc.name, pc.image_digest
from payload_components pc join payloads p on p.digest = pc.payload_digest;
