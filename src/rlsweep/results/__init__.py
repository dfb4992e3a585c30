"""From trial results to answers: objectives.csv, the best config, confirmation, tables, status."""
