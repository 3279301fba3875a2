-- A target promoted by OKD's own release pipeline: the address of its Tekton EventListener.
ALTER TABLE promotion_targets ADD COLUMN pipeline_url TEXT;
