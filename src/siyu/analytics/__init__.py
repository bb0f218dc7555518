"""Analytics (数据分析): one runner per report kind, Ibis over the event lake (DuckDB or Spark)."""
