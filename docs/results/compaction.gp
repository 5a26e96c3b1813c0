# compaction.gp -- written by gpusim-bench: the policies of scenario compaction.
# Draw again with: gnuplot compaction.gp (in this directory)
$data << EOD
# policy sim_time_ns blocked_ns pinned_pages violations
"none" 108628770 0 0 321
"pin" 107764500 0 4096 0
"pin-persistent" 91413452 0 4096 0
"fence-wait" 125480800 15268720 0 0
"fence-reload" 125643680 14914421 0 0
"refault" 109664006 2964350 0 0
EOD
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by 30 right nomirror
set grid ytics
set key off
set terminal svg size 1000,700 dynamic noenhanced font 'sans,11' background '#ffffff'
set output 'compaction.svg'
set multiplot layout 2,2 title 'compaction'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:138.208]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ms'
set logscale y
set yrange [1.48218:30.5374]
plot $data using ($3 > 0 ? $3 / 1000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:4505.6]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:353.1]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
set terminal pngcairo size 1000,700 noenhanced font 'sans,10'
set output 'compaction.png'
set multiplot layout 2,2 title 'compaction'
set title 'GPU completion time (sim_time_ns)'
set ylabel 'ms'
set yrange [0:138.208]
plot $data using ($2 / 1000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ms'
set logscale y
set yrange [1.48218:30.5374]
plot $data using ($3 > 0 ? $3 / 1000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:4505.6]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:353.1]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
