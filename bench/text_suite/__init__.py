"""The text suite (issue 25 item 2): tk's text defaults vs TF-IDF + LogisticRegression on 9 offline sets.

    python -m bench.text_suite --tree /tmp/tk-snapshot --label after --name text_suite_after

- datasets:    TEXT_SETS, one text column and one target each (reviews, social posts, spam, names,
               film titles, course titles, activity descriptions, incident notes, long passages);
- baseline:    TF-IDF (1-2-grams) + LogisticRegression, C tuned on the validation rows;
- runner:      sets × seeds (bench.suite.splits, 70/10/20) × systems, cached JSON per run; tk through
               bench.suite.tk_system;
- report:      per set and mean: metric, log loss, train seconds; gap of each tk label to TF-IDF;
- make_austen: the one-off extraction of data/austen_passages.csv.gz from Debian's r-cran-janeaustenr.
"""
