# oom.gp -- written by gpusim-bench: the policies of scenario oom.
# Draw again with: gnuplot oom.gp (in this directory)
$data << EOD
# policy sim_time_ns blocked_ns pinned_pages violations
"none" 10480913750 0 0 31240
"pin" 10480913750 0 163840 31240
"pin-persistent" 10477756280 0 163840 31508
"fence-wait" 10481500250 0 0 0
"fence-reload" 1870720730 9019130 0 0
"refault" 1861764300 62700 0 0
EOD
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.8
set xtics rotate by 30 right nomirror
set grid ytics
set key off
set terminal svg size 1000,700 dynamic noenhanced font 'sans,11' background '#ffffff'
set output 'oom.svg'
set multiplot layout 2,2 title 'oom'
set title 'GPU completion time (sim_time_ns)'
set ylabel 's'
set yrange [0:11.5297]
plot $data using ($2 / 1000000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ms'
set logscale y
set yrange [0.03135:18.0383]
plot $data using ($3 > 0 ? $3 / 1000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:180224]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:34658.8]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
set terminal pngcairo size 1000,700 noenhanced font 'sans,10'
set output 'oom.png'
set multiplot layout 2,2 title 'oom'
set title 'GPU completion time (sim_time_ns)'
set ylabel 's'
set yrange [0:11.5297]
plot $data using ($2 / 1000000000):xtic(1) notitle lc rgb '#4477aa'
set title 'invalidator blocked time (notifier.blocked_ns)'
set ylabel 'ms'
set logscale y
set yrange [0.03135:18.0383]
plot $data using ($3 > 0 ? $3 / 1000000 : NaN):xtic(1) notitle lc rgb '#ee6677'
unset logscale y
set title 'pinned pages, peak (host.pinned_pages_peak)'
set ylabel 'pages'
set yrange [0:180224]
plot $data using ($4 / 1):xtic(1) notitle lc rgb '#228833'
set title 'violations (checker.use_after_free + stale)'
set ylabel 'count'
set yrange [0:34658.8]
plot $data using ($5 / 1):xtic(1) notitle lc rgb '#aa3377'
unset multiplot
unset output
