# long-compute-pressure.gp -- written by gpusim-bench: the policies of scenario long-compute-pressure.
# Draw again with: gnuplot long-compute-pressure.gp (in this directory)
$data << EOD
# policy sim_time_ns blocked_ns pinned_pages violations
"none" 3633105278480 0 0 730832
"pin" 3633104552480 0 65536 0
"pin-persistent" 3633103366332 0 65536 0
"fence-wait" 3936913004830 6665338933860 0 0
"fence-reload" 3661276824471 1660435146 0 0
"refault" 3633105003293 25862750 0 0
EOD
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by 30 right nomirror
set grid ytics
set key off
set terminal svg size 1000,700 dynamic noenhanced font 'sans,11' background '#ffffff'
set output 'long-compute-pressure.svg'
set multiplot layout 2,2 title 'long-compute-pressure'
set title 'GPU completion time (sim_time_ns)'
set ylabel 's'
set yrange [0:4330.6]
plot $data using ($2 / 1000000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 's'
set logscale y
set yrange [0.0129314:13330.7]
plot $data using ($3 > 0 ? $3 / 1000000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:72089.6]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:803915]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
set terminal pngcairo size 1000,700 noenhanced font 'sans,10'
set output 'long-compute-pressure.png'
set multiplot layout 2,2 title 'long-compute-pressure'
set title 'GPU completion time (sim_time_ns)'
set ylabel 's'
set yrange [0:4330.6]
plot $data using ($2 / 1000000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 's'
set logscale y
set yrange [0.0129314:13330.7]
plot $data using ($3 > 0 ? $3 / 1000000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:72089.6]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:803915]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
