package result

// ScoreExt ends the name of the file `score` writes beside a samples file
// by default: NAME.samples.jsonl.gz is scored into NAME.score.json.
const ScoreExt = ".score.json"
